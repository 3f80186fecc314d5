import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition, type AnyActorRef } from 'xstate';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { ObservedInstance } from '../../src/ports/cloud-provider.js';
import type { InstanceEvent } from '../../machines/instance/events.js';
import type { InstanceView } from '../../machines/instance/view.js';
import { awaitsRegistration, fleetOf, holdsOf, liveCount, modeOf, needsFastPolling, steadyFor, type SupervisorSnapshot } from '../../machines/supervisor/selectors.js';
import { supervisorMachine, type SupervisorEmitted, type SupervisorEvent, type SupervisorInput } from '../../machines/supervisor/supervisor.machine.js';
import { obs, S, T0 } from '../helpers/fleet.js';

/**
 * The supervisor as a pure function: `transition(machine, snapshot, event)` gives the next
 * snapshot and the actions it would take, with no actor running. It can, because what it
 * knows of each instance is the view that instance reported (INSTANCE_VIEW), never a child's
 * snapshot. Here the test plays the instances: it sends their reports itself.
 */
const cfg = parseConfig({ pools: [{ name: 'default', max: 3 }], planner: { idleGraceSeconds: 60, blindHoldSeconds: 300 } });
const input: SupervisorInput = {
  now: T0,
  keyPrefix: 'dda-t',
  pools: cfg.pools,
  planner: cfg.planner,
  timeouts: { launchMs: 300 * S, bootMs: 600 * S, drainMs: 3600 * S, terminateRetryMs: 120 * S },
  goneGraceMs: 120 * S,
};

type Action = ReturnType<typeof transition<typeof supervisorMachine>>[1][number];

function run(events: SupervisorEvent[], from: SupervisorSnapshot = initialTransition(supervisorMachine, input)[0]) {
  let snap = from;
  const actions: Action[] = [];
  for (const e of events) {
    const [next, acts] = transition(supervisorMachine, snap, e);
    snap = next;
    actions.push(...acts);
  }
  const params = (type: string) => actions.filter((a) => a.type === type).map((a) => a.params as Record<string, unknown>);
  return {
    snap,
    emitted: params('xstate.emit').map((p) => p.event as SupervisorEmitted),
    spawned: params('xstate.spawnChild').map((p) => p.id as string),
    sent: params('xstate.sendTo').map((p) => ({ to: (p.to as AnyActorRef).id, event: p.event as InstanceEvent })),
  };
}

const pending = (id: string) => ({ id, status: 'pending' as const, demand: DEFAULT_DEMAND, createdAt: T0 });
const fleet = (...instances: ObservedInstance[]): SupervisorEvent => ({ type: 'FLEET', snapshot: { at: T0, instances } });
const report = (v: InstanceView, event = 'TEST'): SupervisorEvent => ({ type: 'INSTANCE_VIEW', view: v, event });

describe('supervisor as a pure function of (snapshot, event)', () => {
  it('adopts two live instances that carry one key, each under an identity of its own, and says why', () => {
    const r = run([fleet(obs({ instanceId: 'i-a', key: 'dda-x-1' }), obs({ instanceId: 'i-b', key: 'dda-x-1' }))]);
    expect(r.spawned).toEqual(['dda-x-1', 'adopted-i-b']);
    expect(fleetOf(r.snap).map((v) => [v.key, v.instanceId, v.state])).toEqual([
      ['adopted-i-b', 'i-b', 'task-running.idle'],
      ['dda-x-1', 'i-a', 'task-running.idle'],
    ]);
    const notes = r.emitted.flatMap((e) => (e.type === 'spawned' && e.note ? [e.note] : []));
    expect(notes).toEqual(['instance i-b carries key dda-x-1, which another instance already has: adopted as adopted-i-b']);
  });

  it('the same describe on a running actor does not crash the daemon (no second actor with one systemId)', () => {
    const sup = createActor(supervisorMachine, { input });
    sup.start();
    sup.send(fleet(obs({ instanceId: 'i-a', key: 'dda-x-1' }), obs({ instanceId: 'i-b', key: 'dda-x-1' }), obs({ instanceId: 'i-c', key: 'dda-x-1', state: 'terminated' })));
    expect(sup.getSnapshot().status).toBe('active');
    expect(Object.keys(sup.getSnapshot().children).sort()).toEqual(['adopted-i-b', 'dda-x-1']);
    // Each actor reported itself: the supervisor's fleet is what the actors say.
    expect(fleetOf(sup.getSnapshot()).map((v) => v.instanceId)).toEqual(['i-b', 'i-a']);
    sup.stop();
  });

  it('leaves twins of a launch in flight alone until its answer names ours, then adopts the other', () => {
    let r = run([fleet(), { type: 'QUEUE', snapshot: { at: T0, stages: [pending('1')] } }, { type: 'TICK', now: T0 + 200 * S }]);
    expect(r.spawned).toEqual(['dda-t-1']);
    const launching = fleetOf(r.snap)[0]!;
    expect(launching.instanceId).toBeNull();
    // RunInstances retried after a lost answer: two instances carry the key.
    r = run([fleet(obs({ instanceId: 'i-a', key: 'dda-t-1', agent: 'none', registered: false }), obs({ instanceId: 'i-b', key: 'dda-t-1', agent: 'none', registered: false }))], r.snap);
    expect(r.spawned).toEqual([]);
    // The launch answers i-b, and the instance reports it.
    r = run([{ type: 'RESULT', key: 'dda-t-1', event: { type: 'LAUNCHED', now: T0 + 201 * S, instanceId: 'i-b', launchedAt: T0 + 200 * S, pricePerHour: 0.17 } }], r.snap);
    expect(r.sent).toEqual([{ to: 'dda-t-1', event: expect.objectContaining({ type: 'LAUNCHED', instanceId: 'i-b' }) }]);
    expect(awaitsRegistration(r.snap)).toBe(false);
    r = run([report({ ...launching, phase: 'booting', state: 'booting.instance', tags: ['capacity', 'changing', 'cancellable', 'registering'], cancellable: true, instanceId: 'i-b', launchedAt: T0 + 200 * S })], r.snap);
    // Booting, it waits for its registration: the fleet is described at the fastest cadence.
    expect(awaitsRegistration(r.snap)).toBe(true);
    r = run([fleet(obs({ instanceId: 'i-a', key: 'dda-t-1', agent: 'none', registered: false }), obs({ instanceId: 'i-b', key: 'dda-t-1', agent: 'none', registered: false }))], r.snap);
    expect(r.spawned).toEqual(['adopted-i-a']);
    expect(fleetOf(r.snap).map((v) => [v.key, v.instanceId])).toEqual([
      ['adopted-i-a', 'i-a'],
      ['dda-t-1', 'i-b'],
    ]);
  });

  it('is steady (a replay may skip its polls and ticks) while every instance runs a build, boots cold or ends, until the first deadline', () => {
    const busyOn = (...ids: string[]): SupervisorEvent => ({ type: 'QUEUE', snapshot: { at: T0, stages: ids.map((id, k) => ({ ...pending(String(k)), status: 'running' as const, agent: id })) } });
    let r = run([fleet(obs({ instanceId: 'i-a', key: 'old-1' }), obs({ instanceId: 'i-b', key: 'old-2' })), busyOn('i-a', 'i-b')]);
    const [a, b] = fleetOf(r.snap);
    r = run([report({ ...a!, phase: 'busy', state: 'task-running.busy', tags: ['capacity'] }), report({ ...b!, phase: 'busy', state: 'task-running.busy', tags: ['capacity'] })], r.snap);
    expect(steadyFor(r.snap, T0 + S)).toBe(Infinity);
    // One ends: its terminate is out, the next step is the cloud's or its deadline's.
    const ending = { ...b!, phase: 'draining' as const, state: 'draining.terminating', tags: ['changing', 'awaits-cloud'] as InstanceView['tags'], deadline: T0 + 120 * S };
    r = run([busyOn('i-a'), report(ending)], r.snap);
    expect(steadyFor(r.snap, T0 + S)).toBe(T0 + 120 * S);
    expect(steadyFor(r.snap, T0 + 120 * S)).toBe(-Infinity);
    // Still draining, waiting for the builds on it to end: every observation may move it.
    r = run([report({ ...ending, state: 'draining.waiting', tags: ['changing', 'drain-waiting'] })], r.snap);
    expect(steadyFor(r.snap, T0 + S)).toBe(-Infinity);
  });

  it('is steady with an idle agent once the plan holds as the last did, until its renewal falls due', () => {
    const busyOn = (...ids: string[]): SupervisorEvent => ({ type: 'QUEUE', snapshot: { at: T0 + S, stages: ids.map((id, k) => ({ ...pending(String(k)), status: 'running' as const, agent: id })) } });
    let r = run([fleet(obs({ instanceId: 'i-a', key: 'old-1' }), obs({ instanceId: 'i-b', key: 'old-2' })), busyOn('i-a')]);
    const [a, b] = fleetOf(r.snap);
    // Idle since T0 + 1 s with a 60 s grace, launched long ago: let go from T0 + 61 s.
    r = run([report({ ...a!, phase: 'busy', state: 'task-running.busy', tags: ['capacity'] }), report({ ...b!, phase: 'idle', state: 'task-running.idle', tags: ['capacity'], idleSince: T0 + S, launchedAt: T0 - 3600 * S })], r.snap);
    // The plan would hold it (renewal not due), but the last plan held nothing: a tick logs the new hold.
    expect(steadyFor(r.snap, T0 + 2 * S)).toBe(-Infinity);
    r = run([{ type: 'TICK', now: T0 + 2 * S }], r.snap);
    expect(holdsOf(r.snap).map((h) => h.code)).toEqual(['renewal-not-due']);
    expect(steadyFor(r.snap, T0 + 2 * S)).toBe(T0 + 61 * S);
    expect(steadyFor(r.snap, T0 + 60 * S)).toBe(T0 + 61 * S);
    // Due: the tick there drains it.
    expect(steadyFor(r.snap, T0 + 61 * S)).toBe(-Infinity);
    r = run([{ type: 'TICK', now: T0 + 61 * S }], r.snap);
    expect(r.sent).toEqual([{ to: 'old-2', event: expect.objectContaining({ type: 'DRAIN' }) }]);
  });

  it('keeps the fleet from reports, announces a change of state once, and plans from what was reported', () => {
    let r = run([fleet(obs({ instanceId: 'i-a', key: 'old-1' })), { type: 'QUEUE', snapshot: { at: T0, stages: [pending('1'), { ...pending('2'), status: 'running', agent: 'i-a' }] } }]);
    expect(r.sent).toEqual([{ to: 'old-1', event: { type: 'BUSY', now: T0 } }]);
    const idle = fleetOf(r.snap)[0]!;
    expect(idle.phase).toBe('idle');
    expect(needsFastPolling(r.snap)).toBe(false);
    // The agent reports itself busy (it heard BUSY); with one more stage pending the planner wants a second.
    r = run([report({ ...idle, phase: 'busy', state: 'task-running.busy', since: T0 + S }, 'BUSY')], r.snap);
    expect(r.emitted).toEqual([expect.objectContaining({ type: 'transition', key: 'old-1', from: 'task-running.idle', to: 'task-running.busy', fromPhase: 'idle', toPhase: 'busy', event: 'BUSY' })]);
    r = run([report({ ...idle, phase: 'busy', state: 'task-running.busy', since: T0 + S, reason: 'same state, new reason' })], r.snap);
    expect(r.emitted).toEqual([]);
    expect(fleetOf(r.snap)[0]!.reason).toBe('same state, new reason');
    r = run([{ type: 'TICK', now: T0 + 200 * S }], r.snap);
    expect(r.spawned).toEqual(['dda-t-1']);
    expect(liveCount(r.snap)).toBe(2);
    expect(needsFastPolling(r.snap)).toBe(true);
    // The new actor counts as capacity at once: a second tick buys nothing more.
    r = run([{ type: 'TICK', now: T0 + 230 * S }], r.snap);
    expect(r.spawned).toEqual([]);
  });

  it('forgets an actor that ended, and what it was told', () => {
    let r = run([fleet(obs({ instanceId: 'i-a', key: 'old-1' }))]);
    r = run([{ type: 'xstate.done.actor.old-1', actorId: 'old-1' }], r.snap);
    expect(liveCount(r.snap)).toBe(0);
    expect(r.snap.context.facts).toEqual({});
    expect(r.emitted).toEqual([expect.objectContaining({ type: 'released', key: 'old-1', instanceId: 'i-a' })]);
    // A late report of a released actor changes nothing.
    r = run([report({ ...fleetOf(run([fleet(obs({ instanceId: 'i-a', key: 'old-1' }))]).snap)[0]!, phase: 'terminated', state: 'terminated', tags: [] })], r.snap);
    expect(liveCount(r.snap)).toBe(0);
  });

  it('goes blind when the cloud cannot be described, buys nothing while blind, and says so', () => {
    let r = run([fleet(), { type: 'QUEUE', snapshot: { at: T0, stages: [pending('1')] } }, { type: 'FLEET_UNKNOWN', at: T0 + 10 * S, error: 'describe timed out' }]);
    expect(modeOf(r.snap)).toBe('blind');
    expect(r.emitted).toContainEqual({ type: 'mode', mode: 'blind', event: 'FLEET_UNKNOWN', reason: 'describe timed out' });
    r = run([{ type: 'TICK', now: T0 + 200 * S }], r.snap);
    expect(r.spawned).toEqual([]);
    expect(holdsOf(r.snap)).toEqual([expect.objectContaining({ code: 'cloud-unknown' })]);
    r = run([fleet(), { type: 'TICK', now: T0 + 230 * S }], r.snap);
    expect(modeOf(r.snap)).toBe('running');
    expect(r.spawned).toEqual(['dda-t-1']);
  });

  it('adopts a stopped instance tagged parked as parked, and tells it when it has drifted', () => {
    const parkedObs = obs({ instanceId: 'i-p', key: 'old-p', state: 'stopped', agent: 'none', parkedAt: T0 - 3600 * S });
    let r = run([fleet(parkedObs)]);
    expect(fleetOf(r.snap).map((v) => [v.key, v.state, v.phase])).toEqual([['old-p', 'parked.ready', 'parked']]);
    expect(r.sent).toEqual([]);
    r = run([fleet({ ...parkedObs, drift: 'image ami-old, now ami-new' })], r.snap);
    expect(r.sent).toEqual([{ to: 'old-p', event: { type: 'DRIFTED', now: T0, reason: 'image ami-old, now ami-new' } }]);
    // A stopped instance without the parked tag was stopped by someone else: it is ended.
    r = run([fleet(obs({ instanceId: 'i-s', key: 'old-s', state: 'stopped', agent: 'none' }))]);
    expect(fleetOf(r.snap).map((v) => v.state)).toEqual(['draining.terminating']);
  });

  it('leaves blindness for degraded when the queue went unknown meanwhile', () => {
    const r = run([fleet(), { type: 'FLEET_UNKNOWN', at: T0, error: 'x' }, { type: 'QUEUE_UNKNOWN', at: T0, error: '503' }, fleet()]);
    expect(modeOf(r.snap)).toBe('degraded');
  });
});
