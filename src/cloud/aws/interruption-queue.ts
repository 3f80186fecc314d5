import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { IgnoredMessage, InstanceNotice, InterruptionSource } from '../../ports/interruption-source.js';
import { toCloudError } from './errors.js';
import { parseEventBridge } from './eventbridge.js';

/**
 * The interruption queue: an SQS queue that EventBridge rules feed with EC2 events (docs/aws.md).
 * Each receive is one long poll (up to `waitSeconds`, cut short by the caller's signal on
 * shutdown); every message received is deleted once read, whether it was acted on or ignored,
 * so a malformed message does not come back forever. A delete that fails leaves its message to
 * come back after the visibility timeout: handling one twice is harmless (a notice about an
 * instance already draining changes nothing).
 */

export interface SqsMessage {
  id: string;
  receipt: string;
  body: string;
}

/** SQS cut down to the two calls the queue makes; tests may put a fake in its place. */
export interface SqsApi {
  receive(queueUrl: string, waitSeconds: number, signal?: AbortSignal): Promise<SqsMessage[]>;
  /** Delete by receipt; answers the ids that could not be deleted. */
  remove(queueUrl: string, messages: SqsMessage[], signal?: AbortSignal): Promise<string[]>;
}

/** SQS answers at most 10 messages per receive and per delete batch. */
const BATCH = 10;

export function sdkSqsApi(client: SQSClient): SqsApi {
  return {
    async receive(queueUrl, waitSeconds, signal) {
      const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: BATCH, WaitTimeSeconds: waitSeconds }), { abortSignal: signal });
      return (out.Messages ?? []).flatMap((m) => (m.MessageId && m.ReceiptHandle ? [{ id: m.MessageId, receipt: m.ReceiptHandle, body: m.Body ?? '' }] : []));
    },
    async remove(queueUrl, messages, signal) {
      if (messages.length === 0) return [];
      const out = await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receipt })) }), { abortSignal: signal });
      return (out.Failed ?? []).map((f) => messages[Number(f.Id)]?.id ?? String(f.Id));
    },
  };
}

export interface InterruptionQueueOptions {
  queueUrl: string;
  /** Long-poll wait per receive, 1..20 s (SQS's maximum is 20). */
  waitSeconds?: number;
  logger: Logger;
}

export class SqsInterruptionSource implements InterruptionSource {
  readonly kind = 'sqs';
  private readonly log: Logger;
  private readonly waitSeconds: number;

  constructor(
    private readonly sqs: SqsApi,
    private readonly opts: InterruptionQueueOptions,
  ) {
    this.log = opts.logger.child({ name: 'cloud.aws.interruption-queue' });
    this.waitSeconds = Math.min(20, Math.max(1, opts.waitSeconds ?? 20));
  }

  async receive(signal?: AbortSignal): Promise<(InstanceNotice | IgnoredMessage)[]> {
    let messages: SqsMessage[];
    try {
      messages = await this.sqs.receive(this.opts.queueUrl, this.waitSeconds, signal);
    } catch (e) {
      throw toCloudError(e, 'ReceiveMessage');
    }
    const out: (InstanceNotice | IgnoredMessage)[] = [];
    for (const m of messages) {
      const r = parseEventBridge(m.body);
      if (Array.isArray(r)) out.push(...r);
      else out.push(r);
    }
    try {
      const failed = await this.sqs.remove(this.opts.queueUrl, messages, signal);
      if (failed.length > 0) this.log.warn({ messages: failed }, 'interruption queue: some messages could not be deleted; they will be read again');
    } catch (e) {
      this.log.warn({ err: toCloudError(e, 'DeleteMessageBatch').message, messages: messages.length }, 'interruption queue: delete failed; the messages will be read again');
    }
    return out;
  }
}
