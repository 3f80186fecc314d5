import { describe, expect, it } from 'vitest';
import { createActor, createEmptyActor, type AnyActorRef, type AnyActorScope, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { FleetSnapshot, ObservedInstance } from '../../src/ports/cloud-provider.js';
import { fleetOf, liveCount } from '../../machines/supervisor/selectors.js';
import { supervisorMachine, type SupervisorEmitted, type SupervisorEvent, type SupervisorInput } from '../../machines/supervisor/supervisor.machine.js';
import { HANG_TIMEOUT_MS } from '../helpers/property.js';
import { CoverageRecorder } from './coverage.js';

/**
 * Model-based test of the real supervisor. Path strategy: SHORTEST PATHS, not simple paths.
 * Every TICK may spawn an instance actor, and every spawn or release changes the context
 * (children, keys, facts, a sequence number), so the raw state space is unbounded; even
 * abstracted to (mode, queue known, adopted actors, new actors) with at most two children the
 * simple paths number 1,740 (measured) and multiply with every child the samples allow, while
 * a simple path still never takes an edge that closes a cycle. Instead the model's states are
 * that abstraction *plus the transition that led there*, so the shortest path to each ends
 * with that transition: every edge of the abstract graph is taken, each by its shortest path.
 *
 * Under the model (`machine.transition`) spawned children are created but never run; on the
 * real actor they do, and report their views. The samples keep them quiet where it matters:
 * deadlines far away, the fleet never loses an instance it showed, and an actor's end
 * (`xstate.done.actor.<key>`) is produced for real on replay, by telling the child its launch
 * failed or its instance is gone. The replay checks that the real supervisor's abstract state
 * equals the model's at every step. Some samples show the adopted agent busy (a stage runs on
 * it), so the rule "never drain a busy agent" is checked where it could be broken.
 */
type Snap = SnapshotFrom<typeof supervisorMachine>;

const NOW = 1_700_000_000_000;
const S = 1000;
const FAR = 1e12; // every instance deadline: children never time out during a path
const cfg = parseConfig({ pools: [{ name: 'default', max: 2 }], planner: { idleGraceSeconds: 60, blindHoldSeconds: 300 } });
const input: SupervisorInput = {
  now: NOW,
  keyPrefix: 'dda-m',
  pools: cfg.pools,
  planner: cfg.planner,
  timeouts: { launchMs: FAR, bootMs: FAR, drainMs: FAR, terminateRetryMs: FAR },
  goneGraceMs: FAR,
};

const found: ObservedInstance = {
  instanceId: 'i-old',
  key: 'dda-old-1',
  pool: 'default',
  state: 'running',
  instanceType: 'sim',
  market: 'on-demand',
  pricePerHour: 0.17,
  launchedAt: NOW - 600 * S,
  registered: true,
  agent: 'running',
  draining: false,
};
const fleet = (instances: ObservedInstance[]): FleetSnapshot => ({ at: NOW, instances });
const pending = { id: 's1', status: 'pending' as const, demand: DEFAULT_DEMAND, createdAt: NOW };
const onOld = { id: 's2', status: 'running' as const, demand: DEFAULT_DEMAND, createdAt: NOW, agent: found.instanceId };

const isNew = (k: string) => k.startsWith(`${input.keyPrefix}-`);
function abs(s: Snap): string {
  const keys = Object.keys(s.context.fleet);
  return `${String(s.value)} queue=${!s.context.queue.known ? 'unknown' : s.context.queue.stages.some((x) => x.agent) ? 'known(found agent busy)' : 'known'} adopted=${keys.filter((k) => !isNew(k)).length} new=${keys.filter(isNew).length}`;
}
function label(e: SupervisorEvent): string {
  switch (e.type) {
    case 'FLEET':
      return e.snapshot.instances.length ? 'FLEET(one found)' : 'FLEET(empty)';
    case 'QUEUE':
      return e.snapshot.stages.length === 0 ? 'QUEUE(empty)' : e.snapshot.stages.some((x) => x.agent) ? 'QUEUE(1 running on the found agent)' : 'QUEUE(1 pending)';
    case 'TICK':
      return e.now - NOW > cfg.planner.blindHoldSeconds * S ? 'TICK(after blind hold)' : 'TICK(early)';
    case 'RESULT':
      return `RESULT(${e.key === 'nobody' ? 'unknown key' : e.event.type})`;
    default:
      return e.type.startsWith('xstate.done.actor.') ? `DONE(${isNew(e.type.slice(18)) ? 'new' : 'adopted'})` : e.type;
  }
}

/** The sample events offered in a state: fixed ones, plus results for and ends of its children. */
function eventsFor(s: Snap): SupervisorEvent[] {
  const out: SupervisorEvent[] = [
    { type: 'FLEET', snapshot: fleet([]) },
    { type: 'FLEET', snapshot: fleet([found]) },
    { type: 'FLEET_UNKNOWN', at: NOW, error: 'throttled' },
    { type: 'QUEUE', snapshot: { at: NOW, stages: [] } },
    { type: 'QUEUE', snapshot: { at: NOW, stages: [pending] } },
    { type: 'QUEUE', snapshot: { at: NOW, stages: [onOld] } },
    { type: 'QUEUE_UNKNOWN', at: NOW, error: '503' },
    { type: 'TICK', now: NOW + 15 * S },
    { type: 'TICK', now: NOW + (cfg.planner.blindHoldSeconds + 15) * S },
    { type: 'RESULT', key: 'nobody', event: { type: 'LAUNCH_FAILED', now: NOW, reason: 'x' } },
    { type: 'NOTICE', at: NOW, notice: { kind: 'spot-interruption', instanceId: found.instanceId, sentAt: NOW } },
    { type: 'STOP', now: NOW + 15 * S },
  ];
  const keys = Object.keys(s.context.fleet);
  const first = (pred: (k: string) => boolean) => keys.filter(pred).sort()[0];
  const n = first(isNew);
  const a = first((k) => !isNew(k));
  if (n) out.push({ type: 'RESULT', key: n, event: { type: 'LAUNCHED', now: NOW, instanceId: 'i-new', launchedAt: NOW, pricePerHour: 0.17 } });
  for (const k of [n, a]) if (k) out.push({ type: `xstate.done.actor.${k}`, actorId: k });
  return out;
}

/**
 * The supervisor is a pure function of (snapshot, event): it never reads a child. But it spawns
 * children with a systemId, and xstate/graph walks every branch through one mock scope whose
 * actor system would then hold the same systemId twice; each step gets a fresh scope (a fresh
 * `self` and its own system). The definition, guards and actions are the real ones.
 */
const modelled = Object.create(supervisorMachine, {
  transition: {
    value: (snapshot: Snap, event: SupervisorEvent, scope: AnyActorScope) => {
      const self = createEmptyActor() as unknown as AnyActorRef;
      return supervisorMachine.transition(snapshot, event, { ...scope, self, system: self.system });
    },
  },
}) as typeof supervisorMachine;

const coverage = new CoverageRecorder('supervisor');
const counts = { vertices: 0, paths: 0, steps: 0, drains: 0, busySteps: 0 };

function drive(events: SupervisorEvent[], expected: string[]): void {
  const emitted: SupervisorEmitted[] = [];
  const sup = createActor(supervisorMachine, { input, inspect: coverage.observer() });
  sup.on('*', (e) => emitted.push(e));
  sup.start();
  const trail = () => events.map(label).join(' → ');
  const at = (cond: boolean, msg: string) => {
    if (!cond) expect.fail(`${msg}\n  path: ${trail()}`);
  };
  at(abs(sup.getSnapshot()) === expected[0], 'initial state differs from the model');
  let stopped = false;
  events.forEach((e, n) => {
    const prev = sup.getSnapshot();
    const before = emitted.length;
    if (e.type.startsWith('xstate.done.actor.')) {
      // Make the child end for real; its done event reaches the supervisor by itself.
      const k = (e as { actorId: string }).actorId;
      const phase = prev.context.fleet[k]!.phase;
      sup.send({ type: 'RESULT', key: k, event: phase === 'requested' ? { type: 'LAUNCH_FAILED', now: NOW, reason: 'capacity' } : { type: 'INSTANCE_GONE', now: NOW } });
    } else sup.send(e);
    counts.steps++;
    const snap = sup.getSnapshot();
    const fresh = emitted.slice(before);
    const mode = String(snap.value);
    at(abs(snap) === expected[n + 1], `after ${label(e)}: actor is "${abs(snap)}", model says "${expected[n + 1]}"`);

    // Bookkeeping agrees with the actor system: one view per live actor, as that actor reported it.
    const keys = Object.keys(snap.children);
    at(liveCount(snap) === keys.length, `${liveCount(snap)} views but ${keys.length} children`);
    for (const v of fleetOf(snap)) {
      const child = (snap.children as Record<string, AnyActorRef | undefined>)[v.key];
      at(child !== undefined, `view kept for missing actor ${v.key}`);
      if (child) at(child.getSnapshot().context.instanceId === v.instanceId && child.getSnapshot().context.reason === v.reason, `view of ${v.key} is not what its actor says`);
    }
    for (const k of Object.keys(snap.context.facts)) at(keys.includes(k), `facts kept for missing actor ${k}`);
    for (const k of keys) at(sup.system.get(`instance.${k}`) === snap.children[k], `actor ${k} not registered as instance.${k}`);

    // What each mode allows.
    const decisions = fresh.flatMap((x) => (x.type === 'decision' ? [x.decision] : []));
    const launches = decisions.filter((d) => d.kind === 'launch');
    if (String(prev.value) === 'adopting' && mode === 'adopting') at(decisions.length === 0, 'planned before the fleet was known');
    if (!snap.context.queue.known) at(launches.length === 0, 'launched while the queue is unknown');
    if (String(prev.value) === 'stopping' || mode === 'stopping' || stopped) at(launches.length === 0, 'launched while stopping');
    for (const d of decisions.filter((x) => x.kind === 'drain')) {
      const was = prev.context.fleet[d.key]?.phase ?? '(none)';
      counts.drains++;
      at(was !== 'busy', `drain decided for busy agent ${d.key}`);
    }
    for (const v of fleetOf(prev)) if (v.phase === 'busy') counts.busySteps++;
    const spawned = fresh.filter((x) => x.type === 'spawned');
    at(spawned.length === keys.filter((k) => !prev.children[k]).length, 'a spawn was not announced');
    if (mode === 'stopped') at(snap.status === 'done' && keys.length === 0, 'stopped with actors alive');
    if (mode === 'stopping' || mode === 'stopped') stopped = true;
    if (prev.status === 'done') at(fresh.length === 0, 'a stopped supervisor reacted');
  });
  sup.stop();
}

describe('supervisor: shortest path to every (state, incoming transition) of the real machine', () => {
  it('drives the real supervisor along each path', () => {
    const model = createTestModel(modelled, {
      input,
      serializeState: (s, e, prev) => `${abs(s as Snap)}${e ? ` via ${label(e as SupervisorEvent)} from ${abs(prev as Snap)}` : ''}`,
      serializeEvent: (e) => label(e as SupervisorEvent),
      limit: 20_000,
      // A pure transition of a done snapshot still runs root handlers; a real actor ignores them.
      stopWhen: (s) => s.status === 'done',
    });
    // The events option of createTestModel keeps only events a state names exactly, which
    // would turn the `xstate.done.actor.*` wildcard into a literal; give the samples directly.
    const paths = model.getShortestPaths({ events: (s) => eventsFor(s as Snap), allowDuplicatePaths: true });
    counts.vertices = new Set(paths.map((p) => p.steps.map((x) => label(x.event as SupervisorEvent)).join())).size;
    counts.paths = paths.length;
    for (const p of paths) {
      drive(
        p.steps.slice(1).map((s) => s.event as SupervisorEvent),
        p.steps.map((s) => abs(s.state as Snap)),
      );
    }
  }, HANG_TIMEOUT_MS);

  it('takes every state and every transition of the definition', () => {
    const m = coverage.missing(supervisorMachine);
    console.log(
      `supervisor machine (shortest paths: simple paths explode with spawned children): ${m.totals.states - m.states.length}/${m.totals.states} states and ` +
        `${m.totals.edges - m.edges.length}/${m.totals.edges} transitions covered; ${counts.vertices} model states (state × incoming transition), ${counts.paths} shortest paths driven, ${counts.steps} steps checked (${counts.busySteps} with a busy agent, ${counts.drains} drains checked)`,
    );
    expect(m.states, 'state nodes no path reached').toEqual([]);
    expect(m.edges, 'transitions no path took').toEqual([]);
    // The busy rule was exercised: steps began with a busy agent, and drains were decided.
    expect(counts.busySteps).toBeGreaterThan(0);
    expect(counts.drains).toBeGreaterThan(0);
  });
});
