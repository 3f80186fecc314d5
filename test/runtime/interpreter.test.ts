import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
import type { CloudProvider, FleetSnapshot, LaunchResult } from '../../src/ports/cloud-provider.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import { createInterpreter } from '../../src/runtime/interpreter.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import type { InstanceEvent } from '../../machines/instance/events.js';

const S = 1000;
const T0 = Date.UTC(2025, 0, 1);
const pools = parseConfig({}).pools;

/** A call that never answers, and remembers whether it was aborted. */
function hanging(aborted: string[], what: string) {
  return (signal?: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signal?.addEventListener('abort', () => {
        aborted.push(what);
        reject(new Error('aborted'));
      });
    });
}

/** A call that answers after `ms` of virtual time, whatever the signal says (as some clients do). */
const after = <T,>(clock: VirtualClock, ms: number, v: T) => new Promise<T>((resolve) => clock.setTimeout(() => resolve(v), ms));

const launched = (id: string): LaunchResult => ({ instanceId: id, instanceType: 'c6i.large', market: 'on-demand', pricePerHour: 0.1, launchedAt: T0 });

function setup(over: { cloud?: Partial<CloudProvider>; source?: Partial<QueueSource>; timeoutMs?: number } = {}) {
  const clock = new VirtualClock(T0);
  const events: { key: string; event: InstanceEvent; at: number }[] = [];
  const lines: string[] = [];
  const cloud: CloudProvider = {
    kind: 'fake',
    launch: async () => launched('i-1'),
    describe: async (): Promise<FleetSnapshot> => ({ at: clock.now(), instances: [] }),
    startAgent: async () => {},
    drainAgent: async () => {},
    terminate: async () => {},
    ...over.cloud,
  };
  const source: QueueSource = {
    kind: 'ci',
    drainStyle: 'signal',
    probe: async () => {},
    poll: async () => ({ at: clock.now(), stages: [] }),
    drainAgent: async () => {},
    forgetAgent: async () => {},
    ...over.source,
  };
  const interpreter = createInterpreter({
    cloud,
    source,
    pools,
    clock,
    logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }),
    send: (key, event) => events.push({ key, event, at: clock.now() }),
    timeoutMs: over.timeoutMs ?? 60 * S,
  });
  return { clock, events, lines, interpreter };
}

describe('interpreter: every command under a deadline', () => {
  it('a failed launch carries the error code with its reason (the planner backs off for CLOUD_THROTTLED)', async () => {
    const t = setup({ cloud: { launch: () => Promise.reject(new DdaError('CLOUD_THROTTLED', 'RunInstances: RequestLimitExceeded')) } });
    t.interpreter.execute({ type: 'launch', key: 'k1', pool: 'default', purpose: 'work' });
    await t.interpreter.idle();
    expect(t.events.map((e) => e.event)).toEqual([{ type: 'LAUNCH_FAILED', now: T0, reason: 'CLOUD_THROTTLED: RunInstances: RequestLimitExceeded', code: 'CLOUD_THROTTLED' }]);
  });

  it('a launch the cloud never answers fails at the deadline with CLOUD_TIMEOUT, its call aborted, and idle() settles', async () => {
    const aborted: string[] = [];
    const t = setup({ cloud: { launch: (_r, signal) => hanging(aborted, 'launch')(signal) } });
    t.interpreter.execute({ type: 'launch', key: 'k1', pool: 'default', purpose: 'work' });
    expect(t.interpreter.pending()).toEqual([{ action: 'launch', key: 'k1', pool: 'default', instance: null, since: T0 }]);
    let idle = false;
    void t.interpreter.idle().then(() => (idle = true));

    await t.clock.runUntil(T0 + 59 * S);
    expect(t.events).toEqual([]);
    expect(idle).toBe(false);

    await t.clock.runUntil(T0 + 61 * S);
    expect(t.events).toEqual([{ key: 'k1', at: T0 + 60 * S, event: { type: 'LAUNCH_FAILED', now: T0 + 60 * S, reason: 'CLOUD_TIMEOUT: fake: launch did not answer within 60 s', code: 'CLOUD_TIMEOUT' } }]);
    expect(aborted).toEqual(['launch']);
    expect(idle).toBe(true);
    expect(t.interpreter.inFlight).toBe(0);
    expect(t.interpreter.pending()).toEqual([]);
    // The failure is logged with its code, like any other failed command.
    expect(t.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'launch failed')).toMatchObject({ code: 'CLOUD_TIMEOUT', key: 'k1' });
  });

  it('drops an answer that comes after the deadline: the actor hears one outcome', async () => {
    const t = setup({ cloud: { launch: () => after(t.clock, 90 * S, launched('i-late')) }, timeoutMs: 30 * S });
    t.interpreter.execute({ type: 'launch', key: 'k1', pool: 'default', purpose: 'work' });
    await t.clock.runUntil(T0 + 120 * S);
    expect(t.events.map((e) => [e.event.type, e.at])).toEqual([['LAUNCH_FAILED', T0 + 30 * S]]);
    expect(t.lines.some((l) => l.includes('answer after the deadline dropped') && l.includes('i-late'))).toBe(true);
  });

  it('an answer in time clears the deadline: nothing fires later', async () => {
    const t = setup({ cloud: { launch: () => after(t.clock, 10 * S, launched('i-1')) } });
    t.interpreter.execute({ type: 'launch', key: 'k1', pool: 'default', purpose: 'work' });
    await t.clock.runUntil(T0 + 10 * 60 * S);
    expect(t.events.map((e) => [e.event.type, e.at])).toEqual([['LAUNCHED', T0 + 10 * S]]);
    // Only the cleared deadline could still be waiting; the virtual clock drops it.
    expect(t.clock.pending).toBe(0);
  });

  it('each command reports its own failure event at the deadline', async () => {
    const aborted: string[] = [];
    const t = setup({
      cloud: {
        startAgent: (_i, _n, _p, s) => hanging(aborted, 'startAgent')(s),
        drainAgent: (_i, _stop, s) => hanging(aborted, 'drainAgent')(s),
        terminate: (_i, s) => hanging(aborted, 'terminate')(s),
      },
    });
    t.interpreter.execute({ type: 'startAgent', key: 'a', pool: 'default', instanceId: 'i-a' });
    t.interpreter.execute({ type: 'drainAgent', key: 'b', pool: 'default', instanceId: 'i-b' });
    t.interpreter.execute({ type: 'terminate', key: 'c', pool: 'default', instanceId: 'i-c' });
    expect(t.interpreter.pending().map((p) => [p.action, p.instance])).toEqual([
      ['startAgent', 'i-a'],
      ['drainAgent', 'i-b'],
      ['terminate', 'i-c'],
    ]);
    await t.clock.runUntil(T0 + 61 * S);
    expect(t.events.map((e) => [e.key, e.event.type, (e.event as { reason?: string }).reason])).toEqual([
      ['a', 'AGENT_START_FAILED', 'CLOUD_TIMEOUT: fake: startAgent did not answer within 60 s'],
      ['b', 'DRAIN_FAILED', 'CLOUD_TIMEOUT: fake: drainAgent did not answer within 60 s'],
      ['c', 'TERMINATE_FAILED', 'CLOUD_TIMEOUT: fake: terminate did not answer within 60 s'],
    ]);
    expect(aborted).toEqual(['startAgent', 'drainAgent', 'terminate']);
  });

  it('a CI server that does not answer a server-side drain fails it with SOURCE_TIMEOUT; the cloud is not asked', async () => {
    const aborted: string[] = [];
    let cloudDrains = 0;
    const t = setup({
      source: { drainStyle: 'server', drainAgent: (_n, s) => hanging(aborted, 'source.drainAgent')(s) },
      cloud: { drainAgent: async () => void cloudDrains++ },
    });
    t.interpreter.execute({ type: 'drainAgent', key: 'b', pool: 'default', instanceId: 'i-b' });
    await t.clock.runUntil(T0 + 61 * S);
    expect(t.events.map((e) => (e.event as { reason?: string }).reason)).toEqual(['SOURCE_TIMEOUT: ci: drainAgent did not answer within 60 s']);
    expect(aborted).toEqual(['source.drainAgent']);
    expect(cloudDrains).toBe(0);
  });

  it('a terminate that took effect is not failed when only forgetting the agent on the CI server times out', async () => {
    const aborted: string[] = [];
    const t = setup({ source: { forgetAgent: (_n, s) => hanging(aborted, 'forgetAgent')(s) } });
    t.interpreter.execute({ type: 'terminate', key: 'c', pool: 'default', instanceId: 'i-c' });
    await t.clock.runUntil(T0 + 61 * S);
    expect(t.events).toEqual([]);
    expect(aborted).toEqual(['forgetAgent']);
    const line = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'could not remove the agent from the CI server');
    expect(line).toMatchObject({ code: 'SOURCE_TIMEOUT', instance: 'i-c' });
    expect(t.interpreter.inFlight).toBe(0);
  });

  it('failures before the deadline are reported as they are, not as timeouts', async () => {
    const t = setup({ cloud: { launch: async () => Promise.reject(new DdaError('CLOUD_CAPACITY', 'no c6i.large')) } });
    t.interpreter.execute({ type: 'launch', key: 'k1', pool: 'default', purpose: 'work' });
    await t.clock.runUntil(T0 + 120 * S);
    expect(t.events.map((e) => [e.event.type, (e.event as { reason?: string }).reason, e.at])).toEqual([['LAUNCH_FAILED', 'CLOUD_CAPACITY: no c6i.large', T0]]);
  });
});
