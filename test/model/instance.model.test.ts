import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createActor, createMachine, transition, type SnapshotFrom } from 'xstate';
import { createTestModel } from 'xstate/graph';
import type { AdoptPhase, InstanceCommand, InstanceEvent, InstanceInput } from '../../machines/instance/events.js';
import { instanceMachine, stateLabel, viewOf } from '../../machines/instance/instance.machine.js';
import type { InstanceReport, InstanceView } from '../../machines/instance/view.js';
import { HANG_TIMEOUT_MS } from '../helpers/property.js';
import { CoverageRecorder } from './coverage.js';
import { simplePathsWithoutPrefixes } from './paths.js';

/**
 * Model-based test of the real instance lifecycle: `createTestModel` walks the machine itself
 * (no hand copy), every simple path is generated for a fresh instance and for each way of
 * adopting one, and a real actor is driven along each path while the rules below are checked
 * at every state. Simple paths never take an edge that closes a cycle (busy → idle, a drain
 * retry, a terminate retry), so every edge of the graph is also replayed once as the last step
 * of the shortest path to its source. A final test fails when a state node or a transition of
 * the definition was taken by no path; it walks what it needs itself, so it does not depend on
 * the order the tests run in.
 *
 * Time is two-valued in the model: NOW is before every deadline, AFTER (= Infinity) is past
 * every deadline. The machine compares times only with its deadlines and with the drain
 * acknowledgment (a stale IDLE is NOW - 1), so these values decide every guard both ways, and
 * `serializeState` keeps only what decides the future (state value, and `busy` while booting,
 * where it picks the task-running substate) so deadlines and reasons do not multiply the graph.
 */
type Snap = SnapshotFrom<typeof instanceMachine>;

const NOW = 1_700_000_000_000;
const AFTER = Number.POSITIVE_INFINITY;
const S = 1000;
const timeouts = { launchMs: 300 * S, bootMs: 600 * S, drainMs: 7200 * S, terminateRetryMs: 120 * S };

const samples: InstanceEvent[] = [
  { type: 'LAUNCHED', now: NOW, instanceId: 'i-0123', launchedAt: NOW, pricePerHour: 0.17 },
  { type: 'LAUNCH_FAILED', now: NOW, reason: 'InsufficientInstanceCapacity' },
  { type: 'AGENT_START_FAILED', now: NOW, reason: 'no container instance' },
  { type: 'DRAIN_STARTED', now: NOW },
  { type: 'DRAIN_FAILED', now: NOW, reason: 'throttled' },
  { type: 'TERMINATE_FAILED', now: NOW, reason: 'throttled' },
  { type: 'REGISTERED', now: NOW },
  { type: 'AGENT_RUNNING', now: NOW },
  { type: 'AGENT_STOPPED', now: NOW },
  { type: 'BUSY', now: NOW },
  { type: 'IDLE', now: NOW },
  { type: 'IDLE', now: NOW - 1 }, // observed before the drain took effect
  { type: 'SPOT_INTERRUPTION', now: NOW },
  { type: 'INSTANCE_GONE', now: NOW },
  { type: 'DRAIN', now: NOW, reason: 'idle and not needed' },
  { type: 'RENEW', now: NOW, until: NOW + 3600 * S, reason: 'needed' },
  { type: 'TICK', now: NOW },
  { type: 'TICK', now: AFTER },
  // the warm pool
  { type: 'DRAIN', now: NOW, reason: 'idle: park it again', then: 'park' },
  { type: 'PARKED', now: NOW },
  { type: 'PARK_FAILED', now: NOW, reason: 'agent still running' },
  { type: 'ACTIVATE', now: NOW, reason: 'a stage waits' },
  { type: 'UNPARK_FAILED', now: NOW, reason: 'InsufficientInstanceCapacity' },
  { type: 'EVICT', now: NOW, reason: 'too old' },
  { type: 'DRIFTED', now: NOW, reason: 'image ami-old, now ami-new' },
];

/** The user's five phases, by the top of the state path (the test may read paths; src may not). */
const phaseOf = (value: unknown) => stateLabel(value).split('.')[0] as keyof typeof RANK;

const key = (s: Snap) => {
  const path = stateLabel(s.value);
  // What decides the future besides the state: busy while booting (it picks the task-running
  // substate), whether a drain ends in parking, and a build taken before the drain took effect.
  if (path.startsWith('booting') || path === 'parked.starting') return `${path}${s.context.busy ? ' (busy)' : ''}`;
  // Before the drain takes effect, a build the agent took meanwhile keeps it from our deadline.
  const holdsBuild = (path === 'draining.stopping' || path === 'draining.retrying') && s.context.busy;
  if (path.startsWith('draining')) return `${path}${s.context.thenPark ? ' (then park)' : ''}${holdsBuild ? ' (busy)' : ''}`;
  return path;
};

const adopt = (phase: AdoptPhase, busy = false): InstanceInput => ({
  key: 'k1',
  pool: 'default',
  now: NOW,
  timeouts,
  // Launched a minute ago: its boot deadline is ahead of NOW, as every deadline is (see above).
  adopt: { phase, instanceId: 'i-0abc', launchedAt: NOW - 60 * S, pricePerHour: 0.17, busy },
});
const inputs: [string, InstanceInput][] = [
  ['fresh', { key: 'k1', pool: 'default', now: NOW, timeouts }],
  ['adopted booting', adopt('booting')],
  ['adopted registered', adopt('registered')],
  ['adopted agent-pending', adopt('agent-pending')],
  ['adopted task-running idle', adopt('task-running')],
  ['adopted task-running busy', adopt('task-running', true)],
  ['adopted draining', adopt('draining')],
  ['adopted terminating', adopt('terminating')],
  ['fresh, to prime the warm pool', { key: 'k1', pool: 'default', now: NOW, timeouts, purpose: 'park' }],
  ['adopted priming', adopt('priming')],
  ['adopted parking', adopt('parking')],
  ['adopted parked', adopt('parked')],
];

const RANK = { requested: 0, priming: 0, booting: 1, 'task-running': 2, draining: 3, parked: 3, terminated: 4 } as const;
/** The warm pool's way back: a drained agent parks, a parked instance starts for work. */
const BACK = new Set(['draining>parked', 'parked>booting']);
const FORCING = new Set(['SPOT_INTERRUPTION', 'INSTANCE_GONE', 'AGENT_STOPPED']);
const fmt = (e: InstanceEvent) => `${e.type}${e.type === 'TICK' ? (e.now === AFTER ? '(after deadline)' : '(before deadline)') : e.type === 'IDLE' && e.now < NOW ? '(stale)' : ''}`;

/** What one model's walk took (states, transitions) and how much it drove. */
interface Walk {
  coverage: CoverageRecorder;
  counts: { vertices: number; edges: number; simplePaths: number; edgePaths: number; steps: number };
  endingsChecked: Set<string>;
}

/** Drive a real actor along `events`, checking every state; `expected` are the model's states. */
function drive(w: Walk, input: InstanceInput, events: InstanceEvent[], expected: (string | undefined)[]): void {
  const counts = w.counts;
  const commands: InstanceCommand[] = [];
  // A parent that keeps what the instance reports, as the supervisor does.
  const reports: InstanceView[] = [];
  const parent = createActor(createMachine({ on: { INSTANCE_VIEW: { actions: ({ event }) => void reports.push((event as unknown as InstanceReport).view) } } }), { inspect: w.coverage.observer() });
  parent.start();
  const actor = createActor(instanceMachine, { input, parent });
  actor.on('*', (c) => commands.push(c));
  actor.start();
  const trail = () => `${input.adopt ? `adopted ${input.adopt.phase}${input.adopt.busy ? ' busy' : ''}` : 'fresh'}: ${events.map(fmt).join(' → ')}`;
  const at = (cond: boolean, msg: string) => {
    if (!cond) expect.fail(`${msg}\n  path: ${trail()}\n  commands: ${commands.map((c) => c.type).join(', ')}`);
  };

  // What the instance reports is what it is: its tags, its state, its context, every step.
  const reportsItself = (snap: Snap, what: string) => {
    const v = viewOf(snap.context);
    at(v.state === stateLabel(snap.value), `${what}: view says ${v.state}, actor is in ${stateLabel(snap.value)}`);
    at([...snap.tags].sort().join() === [v.phase, ...v.tags].sort().join(), `${what}: view tags ${[v.phase, ...v.tags].join()} but state tags ${[...snap.tags].join()}`);
    // node's deep equality: the walk checks a million steps, and expect().toEqual is a tenth of a millisecond each.
    if (!isDeepStrictEqual(reports.at(-1), v)) expect(reports.at(-1), `${what}: the last report is not the instance's view`).toEqual(v);
  };

  // Initial state.
  let snap = actor.getSnapshot();
  reportsItself(snap, 'at start');
  if (expected[0] !== undefined) at(key(snap) === expected[0], `initial state ${key(snap)}, model says ${expected[0]}`);
  if (input.adopt) {
    // Adopted where the cloud says it is: only the entry of that state may ask for something.
    const entry = { 'booting.agent': 'startAgent', 'draining.terminating': 'terminate', 'parked.parking': 'park' }[stateLabel(snap.value)];
    at(commands.map((c) => c.type).join() === (entry ?? ''), `adopted into ${stateLabel(snap.value)}: commands on entry`);
  } else at(commands.length === 1 && commands[0]!.type === 'launch', 'a fresh instance issues exactly one launch');
  const seen: InstanceEvent[] = [];

  events.forEach((event, n) => {
    const prev = snap;
    const before = commands.length;
    actor.send(event);
    seen.push(event);
    snap = actor.getSnapshot();
    counts.steps++;
    const fresh = commands.slice(before);
    const from = stateLabel(prev.value);
    const to = stateLabel(snap.value);
    const want = expected[n + 1];
    if (want !== undefined) at(key(snap) === want, `after ${fmt(event)}: actor in ${key(snap)}, model says ${want}`);
    reportsItself(snap, `after ${fmt(event)}`);

    // Phases only move forward; a draining instance never goes back to work.
    const step = `${phaseOf(prev.value)}>${phaseOf(snap.value)}`;
    at(RANK[phaseOf(snap.value)] >= RANK[phaseOf(prev.value)] || BACK.has(step), `${from} → ${to} goes backwards`);
    if (phaseOf(prev.value) === 'parked' && phaseOf(snap.value) === 'booting') at(event.type === 'ACTIVATE' || event.type === 'REGISTERED', `${from} → ${to} without being activated`);
    // The one rule that costs a build: a busy agent ignores DRAIN, entirely.
    if (from === 'task-running.busy' && event.type === 'DRAIN') {
      at(to === from && fresh.length === 0, 'DRAIN changed a busy agent');
      expect(snap.context).toEqual(prev.context);
    }
    // A stale IDLE (seen before the drain took effect) proves nothing.
    if (from === 'draining.waiting' && event.type === 'IDLE' && prev.context.drainAckAt !== null && event.now < prev.context.drainAckAt) at(to === from, 'a stale IDLE ended a drain');
    // A drain that never took effect leaves the agent taking work: ending it is abandoning, and
    // a build seen meanwhile sends it back to draining rather than dying with the terminate.
    if ((from === 'draining.stopping' || from === 'draining.retrying') && to === 'draining.terminating') at(false, 'an agent whose drain never took effect was terminated outright, not abandoned');
    if (from === 'draining.abandoning' && event.type === 'BUSY') at(to === 'draining.stopping' && snap.context.busy, 'a build seen while abandoning did not send the instance back to draining');
    // A final state does not react.
    if (prev.status === 'done') at(fresh.length === 0 && to === from, 'terminated reacted to an event');

    // Commands: each exactly on the transition that calls for it.
    const types = fresh.map((c) => c.type);
    at(!types.includes('launch'), 'launch issued after the start');
    const enteringAgent = to === 'booting.agent' && from !== 'booting.agent';
    at(types.includes('startAgent') === enteringAgent, `startAgent ${enteringAgent ? 'missing on entering' : 'issued outside of entering'} booting.agent (${from} → ${to})`);
    const enteringStop = to === 'draining.stopping' && from !== 'draining.stopping';
    at(types.includes('drainAgent') === enteringStop, `drainAgent ${enteringStop ? 'missing on entering' : 'issued outside of entering'} draining.stopping (${from} → ${to})`);
    const ending = to === 'draining.terminating' || to === 'draining.abandoning';
    const terminateDue = ending && (from !== to || (event.type === 'TICK' && event.now >= prev.context.deadline));
    at(types.includes('terminate') === terminateDue, `terminate ${terminateDue ? 'missing' : 'unexpected'} (${from} → ${to} on ${fmt(event)})`);
    at(fresh.length <= 1, 'more than one command on one event');
    for (const c of fresh) {
      at(c.key === input.key && c.pool === input.pool, 'command for another instance');
      if (c.type !== 'launch') at(c.instanceId === snap.context.instanceId && c.instanceId !== null, `${c.type} without this instance's id`);
    }

    // What must hold in each phase.
    const phase = phaseOf(snap.value);
    const all = commands.map((c) => c.type);
    if (phase === 'requested') at(all.every((t) => t === 'launch'), 'no agent task may exist while requested');
    if (phase === 'booting' || phase === 'task-running' || phase === 'draining' || phase === 'parked') at(snap.context.instanceId !== null, `${to} without an instance id`);
    if (phase === 'priming') at(all.every((t) => t === 'launch'), 'a priming instance was given work');
    // The warm pool's commands, each on entering its state.
    const enteringPark = to === 'parked.parking' && from !== to;
    at(types.includes('park') === enteringPark, `park ${enteringPark ? 'missing on entering' : 'issued outside of entering'} parked.parking (${from} → ${to})`);
    const enteringStart = to === 'parked.starting' && from !== to;
    at(types.includes('unpark') === enteringStart, `unpark ${enteringStart ? 'missing on entering' : 'issued outside of entering'} parked.starting (${from} → ${to})`);
    // (An IDLE or AGENT_STOPPED says its build ended: it may park on that very event.)
    if (to === 'parked.parking' && from !== to) at(!prev.context.busy || event.type === 'IDLE' || event.type === 'AGENT_STOPPED' || from.startsWith('priming') || from === 'parked.retrying', 'a busy agent was parked');
    if (to === 'booting.agentPending') at(!all.includes('startAgent'), 'an adopted pending agent is started twice');
    if (phase === 'task-running') {
      const sinceStart = all.slice(all.lastIndexOf('startAgent') + 1);
      at(!sinceStart.includes('drainAgent') && !sinceStart.includes('terminate'), 'a running agent was drained or terminated');
      at((to === 'task-running.busy') === snap.context.busy, `${to} disagrees with busy=${snap.context.busy}`);
    }
    if (phase === 'draining') at(!fresh.some((c) => c.type === 'startAgent'), 'a draining instance was handed work');
    if (snap.context.forced) at(seen.some((e) => FORCING.has(e.type)), 'forced without a forcing event');
    if (phase === 'terminated') {
      at(snap.status === 'done', 'terminated is not final');
      if (snap.context.instanceId !== null) at(all.includes('terminate') || event.type === 'INSTANCE_GONE', 'an instance with an id ended without a terminate and did not vanish');
      else at(all.join() === 'launch' && (event.type === 'LAUNCH_FAILED' || event.type === 'TICK'), 'an instance without an id ended by something other than its launch failing');
    }
  });

  // Terminated emits nothing more and stays, whatever arrives. Once per way of ending in a walk:
  // \`transition()\` builds an inert actor whose context, without input, fails (a thrown error
  // each), and a final state's reactions do not depend on the path that reached it.
  const ending = `${events.at(-1)?.type}: ${snap.context.reason}`;
  if (snap.status === 'done' && !w.endingsChecked.has(ending)) {
    w.endingsChecked.add(ending);
    for (const e of samples) {
      const [next, actions] = transition(instanceMachine, snap, e);
      at(stateLabel(next.value) === 'terminated' && actions.length === 0, `terminated reacted to ${fmt(e)}`);
    }
  }
  parent.stop();
}

/**
 * Walks the model of one start (fresh or an adoption): every simple path, then every edge as the
 * last step after the shortest path to its source. Remembered once it has passed, so the test
 * of that start and the coverage check share one walk, and neither needs the other to have run
 * first (`vitest -t`, `--sequence.shuffle`).
 */
const walks = new Map<string, Walk>();
function walk(label: string, input: InstanceInput): Walk {
  const done = walks.get(label);
  if (done) return done;
  const w: Walk = { coverage: new CoverageRecorder('instance'), counts: { vertices: 0, edges: 0, simplePaths: 0, edgePaths: 0, steps: 0 }, endingsChecked: new Set() };
  const model = createTestModel(instanceMachine, { events: samples, input, serializeState: (s) => key(s as Snap) });
  const adj = model.getAdjacencyMap();
  const simple = simplePathsWithoutPrefixes(model);
  const shortest = new Map(model.getShortestPaths({ allowDuplicatePaths: true }).map((p) => [key(p.state as Snap), p]));
  w.counts.vertices += Object.keys(adj).length;
  w.counts.simplePaths += simple.length;
  expect(simple.length).toBeGreaterThan(0);

  for (const p of simple) {
    // steps[0] is the initial state (event xstate.init); each later step is (event, state reached).
    drive(
      w,
      input,
      p.steps.slice(1).map((s) => s.event as InstanceEvent),
      p.steps.map((s) => key(s.state as Snap)),
    );
  }
  for (const [from, v] of Object.entries(adj)) {
    const head = shortest.get(from);
    expect(head, `no shortest path to ${from}`).toBeDefined();
    for (const t of Object.values(v.transitions) as { event: InstanceEvent; state: Snap }[]) {
      w.counts.edges++;
      w.counts.edgePaths++;
      const events = [...head!.steps.slice(1).map((s) => s.event as InstanceEvent), t.event];
      drive(w, input, events, [...head!.steps.map((s) => key(s.state as Snap)), key(t.state)]);
    }
  }
  walks.set(label, w);
  return w;
}

describe('instance lifecycle: every simple path of the real machine', () => {
  for (const [label, input] of inputs) {
    it(`${label}`, () => {
      walk(label, input);
    }, HANG_TIMEOUT_MS);
  }

  it('takes every state and every transition of the definition', () => {
    // Walks every start itself (or reuses the walks that already passed).
    const all = inputs.map(([label, input]) => walk(label, input));
    const coverage = CoverageRecorder.union('instance', all.map((w) => w.coverage));
    const counts = { models: all.length, vertices: 0, edges: 0, simplePaths: 0, edgePaths: 0, steps: 0 };
    for (const w of all) for (const k of Object.keys(w.counts) as (keyof Walk['counts'])[]) counts[k] += w.counts[k];
    const m = coverage.missing(instanceMachine);
    console.log(
      `instance machine: ${m.totals.states - m.states.length}/${m.totals.states} states and ${m.totals.edges - m.edges.length}/${m.totals.edges} transitions covered; ` +
        `${counts.models} models (fresh, fresh to prime the warm pool, and 10 adoptions), ${counts.vertices} model states, ${counts.edges} model edges; ` +
        `${counts.simplePaths} simple paths + ${counts.edgePaths} edge paths driven, ${counts.steps} steps checked`,
    );
    expect(m.states, 'state nodes no path reached').toEqual([]);
    expect(m.edges, 'transitions no path took').toEqual([]);
  }, HANG_TIMEOUT_MS);
});

describe('the coverage check itself', () => {
  it('reports the states and transitions a run did not take', () => {
    const rec = new CoverageRecorder('instance');
    const actor = createActor(instanceMachine, { input: inputs[0]![1], inspect: rec.observer() });
    actor.start();
    actor.send({ type: 'LAUNCH_FAILED', now: NOW, reason: 'capacity' });
    const m = rec.missing(instanceMachine);
    expect(m.states).toContain('instance.booting');
    expect(m.edges).toContain('instance.requested.routing --(always)[0]--> instance.booting.instance');
    expect(m.edges).not.toContain('instance.requested.launching --LAUNCH_FAILED[0]--> instance.terminated');
    expect(m.edges.length).toBe(m.totals.edges - 2); // the default routing edge and LAUNCH_FAILED
  });
});
