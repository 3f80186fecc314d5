import { z } from 'zod';
import type { IgnoredMessage, InstanceNotice } from '../../ports/interruption-source.js';

/**
 * EventBridge events, as an SQS target receives them (the event itself is the message body),
 * turned into notices about instances. The four kinds Karpenter's interruption queue acts on:
 * - `aws.ec2` "EC2 Spot Instance Interruption Warning" (two minutes ahead);
 * - `aws.ec2` "EC2 Instance Rebalance Recommendation" (earlier, when the risk rises);
 * - `aws.health` "AWS Health Event" for EC2 in the `scheduledChange` category (retirement,
 *   maintenance), naming its instances in `affectedEntities`;
 * - `aws.ec2` "EC2 Instance State-change Notification".
 * Anything else that is a well-formed event is foreign; anything that is not, malformed.
 */

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const instanceId = z.string().regex(INSTANCE_ID);

const envelope = z.object({
  source: z.string(),
  'detail-type': z.string(),
  time: z.string(),
  detail: z.unknown(),
});

const withInstance = z.object({ 'instance-id': instanceId });
const stateChange = z.object({ 'instance-id': instanceId, state: z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']) });
const health = z.object({
  service: z.string(),
  eventTypeCategory: z.string(),
  eventTypeCode: z.string().optional(),
  affectedEntities: z.array(z.object({ entityValue: z.string() })).optional(),
});

const malformed = (detail: string): IgnoredMessage => ({ kind: 'ignored', why: 'malformed', detail });
const foreign = (detail: string): IgnoredMessage => ({ kind: 'ignored', why: 'foreign', detail });

/** Printable, short, and only from fields we chose to quote (never the body). */
const quote = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** One message body: the notices it carries, or why it is ignored. */
export function parseEventBridge(body: string): InstanceNotice[] | IgnoredMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return malformed('not JSON');
  }
  const env = envelope.safeParse(raw);
  if (!env.success) return malformed('not an EventBridge event (source, detail-type, time, detail)');
  const e = env.data;
  const sentAt = Date.parse(e.time);
  if (!Number.isFinite(sentAt)) return malformed(`time ${quote(e.time)} is not a timestamp`);
  const type = e['detail-type'];

  if (e.source === 'aws.ec2') {
    if (type === 'EC2 Spot Instance Interruption Warning' || type === 'EC2 Instance Rebalance Recommendation') {
      const d = withInstance.safeParse(e.detail);
      if (!d.success) return malformed(`${type}: no instance-id in detail`);
      return [{ kind: type === 'EC2 Instance Rebalance Recommendation' ? 'rebalance' : 'spot-interruption', instanceId: d.data['instance-id'], sentAt }];
    }
    if (type === 'EC2 Instance State-change Notification') {
      const d = stateChange.safeParse(e.detail);
      if (!d.success) return malformed(`${type}: no instance-id or state in detail`);
      return [{ kind: 'state-change', instanceId: d.data['instance-id'], sentAt, state: d.data.state }];
    }
    return foreign(`aws.ec2 event ${quote(type)}`);
  }

  if (e.source === 'aws.health' && type === 'AWS Health Event') {
    const d = health.safeParse(e.detail);
    if (!d.success) return malformed('AWS Health Event: no service or eventTypeCategory in detail');
    if (d.data.service !== 'EC2' || d.data.eventTypeCategory !== 'scheduledChange') return foreign(`AWS Health Event ${quote(d.data.service)}/${quote(d.data.eventTypeCategory)}`);
    const ids = (d.data.affectedEntities ?? []).map((a) => a.entityValue).filter((v) => INSTANCE_ID.test(v));
    if (ids.length === 0) return malformed('AWS Health Event: no instance in affectedEntities');
    const what = d.data.eventTypeCode;
    return ids.map((id) => ({ kind: 'scheduled-change' as const, instanceId: id, sentAt, ...(what ? { what } : {}) }));
  }

  return foreign(`${quote(e.source)} event ${quote(type)}`);
}
