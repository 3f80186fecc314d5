import { describe, expect, it } from 'vitest';
import { parseEventBridge } from '../../src/cloud/aws/eventbridge.js';

/** EventBridge events as an SQS target receives them (shapes from the EC2 and AWS Health user guides). */
const TIME = '2025-06-01T12:00:00Z';
const AT = Date.parse(TIME);
const event = (source: string, type: string, detail: unknown, time = TIME) =>
  JSON.stringify({ version: '0', id: '7bf73129-1428-4cd3-a780-95db273d1602', 'detail-type': type, source, account: '123456789012', time, region: 'us-east-1', resources: ['arn:aws:ec2:us-east-1b:instance/i-1234567890abcdef0'], detail });

describe('parseEventBridge', () => {
  it.each([
    ['spot interruption warning', event('aws.ec2', 'EC2 Spot Instance Interruption Warning', { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'terminate' }), [{ kind: 'spot-interruption', instanceId: 'i-1234567890abcdef0', sentAt: AT }]],
    ['rebalance recommendation', event('aws.ec2', 'EC2 Instance Rebalance Recommendation', { 'instance-id': 'i-1234567890abcdef0' }), [{ kind: 'rebalance', instanceId: 'i-1234567890abcdef0', sentAt: AT }]],
    ['state change', event('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': 'i-1234567890abcdef0', state: 'shutting-down' }), [{ kind: 'state-change', instanceId: 'i-1234567890abcdef0', sentAt: AT, state: 'shutting-down' }]],
    [
      'scheduled change for two instances',
      event('aws.health', 'AWS Health Event', { service: 'EC2', eventTypeCategory: 'scheduledChange', eventTypeCode: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED', affectedEntities: [{ entityValue: 'i-0000000000000000a' }, { entityValue: 'i-0000000000000000b' }] }),
      [
        { kind: 'scheduled-change', instanceId: 'i-0000000000000000a', sentAt: AT, what: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED' },
        { kind: 'scheduled-change', instanceId: 'i-0000000000000000b', sentAt: AT, what: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED' },
      ],
    ],
  ])('%s', (_name, body, notices) => {
    expect(parseEventBridge(body)).toEqual(notices);
  });

  it.each([
    ['not JSON', 'hello', 'malformed', 'not JSON'],
    ['JSON but no event', '{"a":1}', 'malformed', 'not an EventBridge event (source, detail-type, time, detail)'],
    ['a bad time', event('aws.ec2', 'EC2 Instance Rebalance Recommendation', { 'instance-id': 'i-1234567890abcdef0' }, 'yesterday'), 'malformed', 'time "yesterday" is not a timestamp'],
    ['no instance id', event('aws.ec2', 'EC2 Spot Instance Interruption Warning', { 'instance-action': 'terminate' }), 'malformed', 'EC2 Spot Instance Interruption Warning: no instance-id in detail'],
    ['an unknown state', event('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': 'i-1234567890abcdef0', state: 'melting' }), 'malformed', 'EC2 Instance State-change Notification: no instance-id or state in detail'],
    ['a health event naming no instance', event('aws.health', 'AWS Health Event', { service: 'EC2', eventTypeCategory: 'scheduledChange', affectedEntities: [{ entityValue: 'vol-1' }] }), 'malformed', 'AWS Health Event: no instance in affectedEntities'],
    ['another EC2 event', event('aws.ec2', 'EBS Snapshot Notification', {}), 'foreign', 'aws.ec2 event "EBS Snapshot Notification"'],
    ['a health event of another service', event('aws.health', 'AWS Health Event', { service: 'RDS', eventTypeCategory: 'scheduledChange' }), 'foreign', 'AWS Health Event "RDS"/"scheduledChange"'],
    ['an EC2 health issue (not a scheduled change)', event('aws.health', 'AWS Health Event', { service: 'EC2', eventTypeCategory: 'issue' }), 'foreign', 'AWS Health Event "EC2"/"issue"'],
    ['another source', event('aws.s3', 'Object Created', {}), 'foreign', '"aws.s3" event "Object Created"'],
  ])('ignores %s', (_name, body, why, detail) => {
    expect(parseEventBridge(body)).toEqual({ kind: 'ignored', why, detail });
  });

  it('never quotes the body of what it ignores', () => {
    const secret = 'AKIAABCDEFGHIJKLMNOP-secret-in-body';
    for (const body of [secret, JSON.stringify({ token: secret }), event('aws.ec2', 'EC2 Spot Instance Interruption Warning', { note: secret })]) {
      expect(JSON.stringify(parseEventBridge(body))).not.toContain(secret);
    }
  });
});
