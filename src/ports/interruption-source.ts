/**
 * The cloud telling us, within seconds, that it is about to take (or has taken) an instance:
 * spot interruption warnings, rebalance recommendations, scheduled maintenance and state
 * changes. Optional: without one the fleet learns the same from the next describe, only later.
 * Implemented for AWS by an SQS queue fed by EventBridge (src/cloud/aws/interruption-queue.ts).
 *
 * `receive` waits for messages (a long poll, bounded by the implementation and cut short by
 * `signal`), hands back what they said, and has removed them from the queue by the time it
 * resolves: a message is handled once, at most. Failures throw DdaError (CLOUD_*).
 */

export type NoticeKind = 'spot-interruption' | 'rebalance' | 'scheduled-change' | 'state-change';

export interface InstanceNotice {
  kind: NoticeKind;
  instanceId: string;
  /** When the cloud sent the event (ms epoch, EventBridge `time`). */
  sentAt: number;
  /** `state-change` only: the state the instance entered. */
  state?: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  /** `scheduled-change` only: what is scheduled (the AWS Health event type code). */
  what?: string;
}

/** A message that was not an event we act on; removed from the queue all the same. */
export interface IgnoredMessage {
  kind: 'ignored';
  why: 'malformed' | 'foreign';
  /** What was wrong, in a few words; never the message body (it may carry anything). */
  detail: string;
}

export interface InterruptionSource {
  /** Short name for logs: 'sqs'. */
  readonly kind: string;
  /** One long poll; resolves with what arrived (possibly nothing). */
  receive(signal?: AbortSignal): Promise<(InstanceNotice | IgnoredMessage)[]>;
}
