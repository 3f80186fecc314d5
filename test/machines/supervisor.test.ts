import { describe, expect, it } from 'vitest';
import { createActor, type AnyActorRef } from 'xstate';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { Stage } from '../../src/ports/queue-source.js';
import type { InstanceCommand } from '../../machines/instance/events.js';
import { fleetOf } from '../../machines/supervisor/selectors.js';
import { supervisorMachine, type SupervisorEmitted } from '../../machines/supervisor/supervisor.machine.js';
import { obs, S, T0 } from '../helpers/fleet.js';


function start(over: { pools?: unknown[] } = {}) {
  const cfg = parseConfig({ pools: over.pools ?? [{ name: 'default', max: 3 }], planner: { idleGraceSeconds: 60, blindHoldSeconds: 300 } });
  const sup = createActor(supervisorMachine, {
    input: {
      now: T0,
      keyPrefix: 'dda-test',
      pools: cfg.pools,
      planner: cfg.planner,
      timeouts: { launchMs: 300 * S, bootMs: 600 * S, drainMs: 3600 * S, terminateRetryMs: 120 * S },
      goneGraceMs: 120 * S,
    },
  });
  const emitted: SupervisorEmitted[] = [];
  const commands: InstanceCommand[] = [];
  sup.on('*', (e) => emitted.push(e));
  sup.on('spawned', ({ key }) => (sup.system.get(`instance.${key}`) as AnyActorRef).on('*', (c: InstanceCommand) => commands.push(c)));
  sup.start();
  const children = () => Object.fromEntries(fleetOf(sup.getSnapshot()).map((v) => [v.key, v.state]));
  return { sup, emitted, commands, children };
}

const stage = (id: string, agent?: string): Stage => ({ id, status: agent ? 'running' : 'pending', demand: DEFAULT_DEMAND, createdAt: T0, ...(agent ? { agent } : {}) });

describe('supervisor', () => {
  it('plans nothing until it has seen the fleet (no double buying after a restart)', () => {
    const s = start();
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1'), stage('2')] } });
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    expect(s.commands).toEqual([]);
    expect(s.sup.getSnapshot().value).toBe('adopting');
  });

  it('adopts what it finds in the state it finds it, then counts it as capacity', () => {
    const s = start();
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1', 'i-a'), stage('2')] } });
    s.sup.send({
      type: 'FLEET',
      snapshot: {
        at: T0,
        instances: [
          obs({ instanceId: 'i-a', key: 'old-1' }),
          obs({ instanceId: 'i-b', key: 'old-2', registered: false, agent: 'none' }),
          obs({ instanceId: 'i-c', key: 'old-3', state: 'terminated' }),
        ],
      },
    });
    expect(s.children()).toEqual({ 'old-1': 'task-running.busy', 'old-2': 'booting.instance' });
    expect(s.emitted.filter((e) => e.type === 'spawned')).toHaveLength(2);
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    // 1 pending + 1 running = 2 wanted; 2 live (one busy, one booting): nothing to buy.
    expect(s.commands.filter((c) => c.type === 'launch')).toEqual([]);
    expect(s.sup.getSnapshot().value).toBe('running');
  });

  it('launches for waiting work and routes the launch result to the right actor', () => {
    const s = start();
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    expect(s.commands).toEqual([{ type: 'launch', key: 'dda-test-1', pool: 'default', purpose: 'work' }]);
    s.sup.send({ type: 'RESULT', key: 'dda-test-1', event: { type: 'LAUNCHED', now: T0 + 16 * S, instanceId: 'i-new', launchedAt: T0 + 16 * S, pricePerHour: 0.17 } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 100 * S, instances: [obs({ instanceId: 'i-new', key: 'dda-test-1', agent: 'none', launchedAt: T0 + 16 * S })] } });
    expect(s.children()).toEqual({ 'dda-test-1': 'booting.agent' });
    expect(s.commands.at(-1)).toEqual({ type: 'startAgent', key: 'dda-test-1', pool: 'default', instanceId: 'i-new' });
    // The next tick must not buy again for the same stage.
    s.sup.send({ type: 'TICK', now: T0 + 115 * S });
    expect(s.commands.filter((c) => c.type === 'launch')).toHaveLength(1);
  });

  it('counts launch failures in a row per pool and clears them on a successful launch', () => {
    const s = start();
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    const fail = (n: number, at: number) => {
      s.sup.send({ type: 'TICK', now: at });
      s.sup.send({ type: 'RESULT', key: `dda-test-${n}`, event: { type: 'LAUNCH_FAILED', now: at + S, reason: 'CLOUD_FAILED: bad profile' } });
    };
    fail(1, T0 + 15 * S);
    fail(2, T0 + 30 * S);
    expect(s.sup.getSnapshot().context.launchFailures).toEqual({ default: { count: 2, lastAt: T0 + 31 * S, reason: 'CLOUD_FAILED: bad profile' } });
    s.sup.send({ type: 'TICK', now: T0 + 45 * S });
    expect(s.commands.filter((c) => c.type === 'launch')).toHaveLength(2);
    s.sup.send({ type: 'TICK', now: T0 + 62 * S });
    expect(s.commands.filter((c) => c.type === 'launch')).toHaveLength(3);
    s.sup.send({ type: 'RESULT', key: 'dda-test-3', event: { type: 'LAUNCHED', now: T0 + 63 * S, instanceId: 'i-ok', launchedAt: T0 + 63 * S, pricePerHour: 0.17 } });
    expect(s.sup.getSnapshot().context.launchFailures).toEqual({});
  });

  it('a throttled launch failure is marked throttled and holds launches from the first one', () => {
    const s = start();
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    s.sup.send({ type: 'RESULT', key: 'dda-test-1', event: { type: 'LAUNCH_FAILED', now: T0 + 16 * S, reason: 'CLOUD_THROTTLED: RunInstances: RequestLimitExceeded', code: 'CLOUD_THROTTLED' } });
    expect(s.sup.getSnapshot().context.launchFailures).toEqual({ default: { count: 1, lastAt: T0 + 16 * S, reason: 'CLOUD_THROTTLED: RunInstances: RequestLimitExceeded', throttled: true } });
    s.sup.send({ type: 'TICK', now: T0 + 30 * S });
    expect(s.commands.filter((c) => c.type === 'launch')).toHaveLength(1);
    s.sup.send({ type: 'TICK', now: T0 + 46 * S });
    expect(s.commands.filter((c) => c.type === 'launch')).toHaveLength(2);
  });

  it('a lost launch holds its pool until a describe taken after its grace answers, not until the time alone (soak seed 11 #4755)', () => {
    const s = start({ pools: [{ name: 'default', max: 1 }] });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    s.sup.send({ type: 'RESULT', key: 'dda-test-1', event: { type: 'LAUNCH_FAILED', now: T0 + 135 * S, reason: 'CLOUD_TIMEOUT: launch did not answer within 120 s', code: 'CLOUD_TIMEOUT' } });
    const launches = () => s.commands.filter((c) => c.type === 'launch').length;
    // The cloud cannot be seen past the grace (until T0 + 255 s): the instance may be there.
    s.sup.send({ type: 'FLEET_UNKNOWN', at: T0 + 140 * S, error: 'CLOUD_UNAVAILABLE: 503' });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 250 * S, instances: [] } });
    s.sup.send({ type: 'TICK', now: T0 + 600 * S });
    expect(launches()).toBe(1);
    const last = s.emitted.filter((e) => e.type === 'decision').at(-1) as { decision: { code?: string; reason: string } };
    expect(last.decision).toMatchObject({ code: 'launch-unknown', reason: expect.stringContaining('launch after the next describe unless it shows it') });
    // A describe started after the grace lists nothing: the launch made no instance.
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 601 * S, instances: [] } });
    expect(s.sup.getSnapshot().context.launchesUnknown).toEqual({});
    s.sup.send({ type: 'TICK', now: T0 + 602 * S });
    expect(launches()).toBe(2);
  });

  it('while the queue cannot be read, an agent whose drain has not taken effect is told a build may run on it; others are not', () => {
    const s = start();
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [] } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [obs({ instanceId: 'i-a', key: 'a' }), obs({ instanceId: 'i-b', key: 'b' })] } });
    s.sup.send({ type: 'TICK', now: T0 + 100 * S });
    // 'a' drains (idle past its grace), and its drain call fails: the drain has not taken effect.
    expect(s.commands.map((c) => c.type)).toEqual(['drainAgent', 'drainAgent']);
    s.sup.send({ type: 'RESULT', key: 'a', event: { type: 'DRAIN_FAILED', now: T0 + 101 * S, reason: 'CLOUD_THROTTLED: throttled' } });
    s.sup.send({ type: 'RESULT', key: 'b', event: { type: 'DRAIN_STARTED', now: T0 + 101 * S } });
    s.sup.send({ type: 'QUEUE_UNKNOWN', at: T0 + 110 * S, error: 'SOURCE_HTTP: 503' });
    const facts = s.sup.getSnapshot().context.facts;
    expect([facts.a?.busy, facts.b?.busy]).toEqual([true, false]);
    // Past the drain deadline, still blind: 'a' is not given up, 'b' (drained) is ended by its deadline.
    s.sup.send({ type: 'TICK', now: T0 + 3800 * S });
    expect(s.children()).toEqual({ a: 'draining.stopping', b: 'draining.terminating' });
    // The queue reads again and shows nothing on 'a': now it may be given up.
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0 + 3810 * S, stages: [] } });
    expect(s.sup.getSnapshot().context.facts.a?.busy).toBe(false);
  });

  it('does not call a just-launched instance gone before the grace period', () => {
    const s = start();
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    s.sup.send({ type: 'TICK', now: T0 + 15 * S });
    s.sup.send({ type: 'RESULT', key: 'dda-test-1', event: { type: 'LAUNCHED', now: T0 + 16 * S, instanceId: 'i-x', launchedAt: T0 + 16 * S, pricePerHour: 0.17 } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 30 * S, instances: [] } });
    expect(s.children()).toEqual({ 'dda-test-1': 'booting.instance' });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 200 * S, instances: [] } });
    expect(s.children()).toEqual({});
    expect(s.emitted.find((e) => e.type === 'released')).toMatchObject({ key: 'dda-test-1', forced: true });
  });

  it('goes degraded when the queue is unknown, holds, then drains idle agents after long blindness', () => {
    const s = start();
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [] } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [obs({ instanceId: 'i-a', key: 'a' })] } });
    s.sup.send({ type: 'QUEUE_UNKNOWN', at: T0 + 10 * S, error: 'SOURCE_HTTP: 503' });
    expect(s.sup.getSnapshot().value).toBe('degraded');
    s.sup.send({ type: 'TICK', now: T0 + 200 * S });
    expect(s.commands).toEqual([]);
    const holds = s.emitted.filter((e) => e.type === 'decision').map((e) => (e as { decision: { kind: string; reason: string } }).decision);
    expect(holds.at(-1)).toMatchObject({ kind: 'hold', reason: expect.stringContaining('holding') });
    s.sup.send({ type: 'QUEUE_UNKNOWN', at: T0 + 250 * S, error: 'SOURCE_HTTP: 503' });
    s.sup.send({ type: 'TICK', now: T0 + 311 * S });
    expect(s.commands.map((c) => c.type)).toEqual(['drainAgent']);
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0 + 320 * S, stages: [] } });
    expect(s.sup.getSnapshot().value).toBe('running');
  });

  it('stopping: launches nothing, drains idle agents, ends when the fleet is gone', () => {
    const s = start();
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1')] } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [obs({ instanceId: 'i-a', key: 'a' })] } });
    s.sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [stage('1', 'i-b-not-ours')] } });
    s.sup.send({ type: 'STOP', now: T0 + S });
    expect(s.sup.getSnapshot().value).toBe('stopping');
    expect(s.commands.map((c) => c.type)).toEqual(['drainAgent']);
    s.sup.send({ type: 'RESULT', key: 'a', event: { type: 'DRAIN_STARTED', now: T0 + 2 * S } });
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 30 * S, instances: [obs({ instanceId: 'i-a', key: 'a', agent: 'stopped', draining: true })] } });
    expect(s.commands.map((c) => c.type)).toEqual(['drainAgent', 'terminate']);
    s.sup.send({ type: 'FLEET', snapshot: { at: T0 + 60 * S, instances: [obs({ instanceId: 'i-a', key: 'a', state: 'terminated' })] } });
    s.sup.send({ type: 'TICK', now: T0 + 75 * S });
    expect(s.sup.getSnapshot().status).toBe('done');
  });
});
