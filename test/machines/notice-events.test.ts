import { describe, expect, it } from 'vitest';
import type { InstanceView } from '../../machines/instance/view.js';
import { NO_FACTS, noticeEvents } from '../../machines/supervisor/observe.js';
import type { InstanceNotice } from '../../src/ports/interruption-source.js';

/** What a notice of the interruption queue tells one instance actor, by its phase and what it was told before. */
const view = (phase: InstanceView['phase']): InstanceView =>
  ({ key: 'k', pool: 'default', phase, state: phase, tags: [], cancellable: false, instanceId: 'i-0000000a', launchedAt: 0, idleSince: null, paidUntil: null, pricePerHour: 0.1, reason: '', forced: false, drift: null, since: 0, deadline: null, warmStart: false, thenPark: false }) as InstanceView;
const n = (o: Partial<InstanceNotice>): InstanceNotice => ({ kind: 'spot-interruption', instanceId: 'i-0000000a', sentAt: 0, ...o });
const told = { ...NO_FACTS, interrupted: true };

describe('noticeEvents', () => {
  it.each([
    ['a spot warning drains a busy agent', 'busy', NO_FACTS, n({}), [{ type: 'SPOT_INTERRUPTION', now: 5, reason: 'forced: spot interruption warning' }]],
    ['a rebalance recommendation drains an idle one', 'idle', NO_FACTS, n({ kind: 'rebalance' }), [{ type: 'SPOT_INTERRUPTION', now: 5, reason: 'forced: spot rebalance recommendation' }]],
    ['scheduled maintenance says what', 'booting', NO_FACTS, n({ kind: 'scheduled-change', what: 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED' }), [{ type: 'SPOT_INTERRUPTION', now: 5, reason: 'forced: scheduled maintenance (AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED)' }]],
    ['a second warning changes nothing', 'draining', told, n({ kind: 'rebalance' }), []],
    ['a parked instance is not drained', 'parked', NO_FACTS, n({}), []],
    ['terminated: gone at once', 'busy', told, n({ kind: 'state-change', state: 'terminated' }), [{ type: 'INSTANCE_GONE', now: 5 }]],
    ['shutting-down: gone at once', 'idle', NO_FACTS, n({ kind: 'state-change', state: 'shutting-down' }), [{ type: 'INSTANCE_GONE', now: 5 }]],
    ['stopped by someone else: drained as forced', 'busy', NO_FACTS, n({ kind: 'state-change', state: 'stopped' }), [{ type: 'SPOT_INTERRUPTION', now: 5, reason: 'forced: instance stopped by someone else' }]],
    ['stopped because we park it: nothing', 'parking', NO_FACTS, n({ kind: 'state-change', state: 'stopped' }), []],
    ['running: nothing', 'booting', NO_FACTS, n({ kind: 'state-change', state: 'running' }), []],
  ] as const)('%s', (_name, phase, prev, notice, events) => {
    expect(noticeEvents(view(phase), prev, notice, 5).events).toEqual(events);
  });

  it('remembers that the instance was told, so describe does not tell it again', () => {
    expect(noticeEvents(view('busy'), NO_FACTS, n({}), 5).facts.interrupted).toBe(true);
  });
});
