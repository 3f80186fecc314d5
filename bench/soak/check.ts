import type { Config } from '../../src/config/config.js';
import type { Decision } from '../../src/planner/types.js';
import type { Daemon } from '../../src/runtime/daemon.js';
import type { Transition } from '../../src/runtime/lifecycle-log.js';
import { seededRandom } from '../../src/sim/random.js';
import type { SimWorld } from '../../src/sim/sim-world.js';
import { simulate } from '../../src/sim/simulate.js';
import { fleetMirrorGaps } from '../../machines/supervisor/audit.js';
import { cloudOf, fleetOf, queueOf } from '../../machines/supervisor/selectors.js';
import { faultyPorts, type FaultyPorts, type PortFaultLog } from './faults.js';
import { runReplicas } from './replicas.js';
import { configOf, faultsOf, jobsOf, MIN, PRICE, T0, windowsOf, type Scenario } from './scenario.js';

export { configOf, faultsOf, jobsOf, scenarioArb, type Scenario } from './scenario.js';

/**
 * The invariants, checked after every simulated instant and at the end of a scenario run
 * through the real daemon (streams, supervisor, instance actors, planner) on the simulator:
 *  1. never over a pool's max, the fleet max or the budget (twins the cloud made are exempt);
 *  2. never a running build ended by a decision (only by force — a spot interruption — and
 *     then logged as forced; the build is requeued and must run again);
 *  3. an empty queue winds the fleet down to its minimum within a bound;
 *  4. nothing leaks: every live instance is owned by an actor of the acting daemon within a
 *     bound (leaked instance-seconds past it), and the views mirror the actors;
 *  5. every job completes; no job waits while its pool has room and nothing launches;
 *  6. nothing launched or drained for lack of work while the queue is unknown, nothing
 *     launched while the cloud is unknown;
 *  7. no command outlives the interpreter's deadline; a throttled launch backs its pool off;
 *  8. with two replicas: at most one daemon runs, and every change is made by the lease holder.
 */
export interface RunTotals {
  runs: number;
  steps: number;
  decisions: number;
  launches: number;
  launchFailures: number;
  interruptions: number;
  killed: number;
  restarts: number;
  jobs: number;
}
export const totals: RunTotals = { runs: 0, steps: 0, decisions: 0, launches: 0, launchFailures: 0, interruptions: 0, killed: 0, restarts: 0, jobs: 0 };

/** What one scenario run counted. */
export interface ScenarioCounts {
  steps: number;
  checks: number;
  decisions: number;
  jobs: number;
  launches: number;
  interruptions: number;
  /** Builds killed under a running build by a spot interruption, requeued, and (when the run passed) completed. */
  lostToInterruptions: number;
  daemonsStarted: number;
  leakedInstanceSeconds: number;
  hungCalls: number;
  throttledCalls: number;
  blindDescribes: number;
  twins: number;
}

export interface ScenarioResult {
  violations: string[];
  counts: ScenarioCounts;
}

const ALIVE = new Set(['pending', 'running', 'stopping', 'stopped']);
class Violation extends Error {}

/** Run one scenario through the real daemon on the simulator; returns the violations found (empty when all hold). */
export async function checkScenario(s: Scenario, trace?: (line: string) => void): Promise<string[]> {
  return (await runScenario(s, trace)).violations;
}

export async function runScenario(s: Scenario, trace?: (line: string) => void): Promise<ScenarioResult> {
  const config: Config = configOf(s);
  const jobs = jobsOf(s);
  const more = s.more;
  const rt = config.runtime;
  const pl = config.planner;
  const lc = config.lifecycle;
  const poolCfg = new Map(config.pools.map((p) => [p.name, p]));
  const outageWindows = [...windowsOf(s.faults.outages), ...windowsOf(s.faults.garbage)];
  const describeOutages = windowsOf(more?.describeOutages ?? []);
  const throttles = windowsOf(more?.throttles ?? []);
  const blindWindows = [...describeOutages, ...throttles];
  const restarts = s.restartsMin.map((m) => T0 + m * MIN).sort((a, b) => a - b);
  const midBuild = (more?.midBuildInterruptionsMin ?? []).map((m) => T0 + m * MIN).sort((a, b) => a - b);

  // Slack for the daemon to see and act: a queue poll that fails through its retries, a tick, a fleet poll.
  const pollCycleMs = (rt.pollTimeoutSeconds * (rt.pollRetries + 1) + rt.retryBaseSeconds * (2 ** rt.pollRetries - 1)) * 1000;
  const W = rt.queuePollSeconds * 1000 + pollCycleMs + rt.tickSeconds * 1000 + rt.fleetPollSeconds * 1000 + 30_000;
  // Calls that never answer stretch a poll cycle to its timeouts and a command to its deadline.
  const hangSlack = more && more.hangRate > 0 ? rt.commandTimeoutSeconds * 1000 + pollCycleMs : 0;
  // Invariant 3's bound: a paid period (or the minimum), the idle grace, the drain deadline (or
  // the boot deadline of an instance that never registers, whichever is longer), and the slack.
  const periodMs = (pl.billing.periodSeconds > 1 ? pl.billing.periodSeconds : pl.billing.minimumSeconds) * 1000;
  const emptyBoundMs = periodMs + pl.idleGraceSeconds * 1000 + Math.max(lc.drainTimeoutSeconds, lc.bootTimeoutSeconds) * 1000 + 2 * W + hangSlack;
  // Invariant 4's bound: an instance made by a launch whose answer was lost is owned once a
  // describe lists it after the command's deadline (or the settling grace after a restart).
  const ownBoundMs = rt.commandTimeoutSeconds * 1000 + lc.goneGraceSeconds * 1000 + 2 * W;
  const deadlineMs = rt.commandTimeoutSeconds * 1000;

  const violations: string[] = [];
  const counts: ScenarioCounts = { steps: 0, checks: 0, decisions: 0, jobs: 0, launches: 0, interruptions: 0, lostToInterruptions: 0, daemonsStarted: 0, leakedInstanceSeconds: 0, hungCalls: 0, throttledCalls: 0, blindDescribes: 0, twins: 0 };
  const fail = (now: number, msg: string) => {
    if (violations.length < 5) violations.push(`${Number.isNaN(now) ? 'at the end' : `t+${((now - T0) / MIN).toFixed(2)} min`}: ${msg}`);
  };
  /** One invariant evaluated (counted), failing with `msg()` when `ok` is false. */
  const check = (ok: boolean, now: number, msg: () => string) => {
    counts.checks++;
    if (!ok) fail(now, msg());
  };
  /** The acting daemon (the last started); null while none acts (a replica killed, its standby not yet in). */
  let daemon: Daemon | null = null;
  /** Daemons started and not yet halted: more than one at once is a violation with replicas. */
  const running = new Set<Daemon>();
  let clockNow = () => NaN;
  let lastWorld = '';
  const stamp = (now: number) => `t+${((now - T0) / MIN).toFixed(2)}`;
  /** Instance actor key → its last state and pool, for the current daemon. */
  const actors = new Map<string, { state: string; pool: string | null }>();
  const lastLaunchAt = new Map<string, number>();
  let emptySince: number | null = null;
  const starvedSince = new Map<string, number>();
  const backoffAt = new Map<string, number>();
  const drainingSince = new Map<string, number>();
  const unownedSince = new Map<string, number>();
  const throttledAt = new Map<string, number>();
  /** Daemon starts and kills: the invariants that need the daemon to have looked give it W after each. */
  const disruptions: number[] = [];
  let lastStep = T0;
  const inOutage = (from: number, to: number) => outageWindows.some(([a, b]) => a < to && b > from);
  const inBlind = (from: number, to: number) => blindWindows.some(([a, b]) => a < to && b > from);
  const lastDisruptionBefore = (now: number) => Math.max(restarts.filter((r) => r <= now).at(-1) ?? -Infinity, disruptions.filter((r) => r <= now).at(-1) ?? -Infinity);

  const log: PortFaultLog = {
    hung: 0,
    throttled: 0,
    blind: 0,
    twins: new Set(),
    onLaunchOutcome: (pool, at) => (at === null ? throttledAt.delete(pool) : throttledAt.set(pool, at)),
  };
  const rand = seededRandom((s.seed * 7919 + 104_729) >>> 0);
  const ports = (world: SimWorld): FaultyPorts =>
    faultyPorts(world, { rand, now: () => clockNow(), duplicateLaunchRate: more?.duplicateLaunchRate ?? 0, hangRate: more?.hangRate ?? 0, describeOutages, throttles }, log);

  const onTransition = (t: Transition) => {
    trace?.(`${stamp(clockNow())} ${t.machine} ${t.key} ${t.instance ?? ''} ${t.from} -> ${t.to} on ${t.event}: ${t.reason}`);
    if (t.machine !== 'instance') return;
    actors.set(t.key, { state: t.to, pool: t.pool });
    // 2. A running build only ends by force, and that is logged as forced.
    if (t.from === 'task-running.busy') check(t.to === 'task-running.idle' || t.forced === true, clockNow(), () => `${t.key} left a running build (${t.from} → ${t.to} on ${t.event}) without force: ${t.reason}`);
  };
  const onDecision = (d: Decision, now: number) => {
    totals.decisions++;
    counts.decisions++;
    if (d.kind !== 'hold') trace?.(`${stamp(now)} decision ${JSON.stringify(d)}`);
    const sup = daemon?.supervisor.getSnapshot();
    const q = sup && queueOf(sup);
    // A pool whose launches keep failing is backed off on purpose, with a reason.
    if (d.kind === 'hold' && d.code === 'launch-backoff') backoffAt.set(d.pool, now);
    if (d.kind === 'launch') {
      lastLaunchAt.set(d.pool, now);
      // 6. Nothing is launched while the queue is unknown (to the daemon, or in truth for long enough to know), nor while the cloud is.
      check(!q || q.known, now, () => `launch of ${d.count} in ${d.pool} while the queue is unknown`);
      check(!outageWindows.some(([a, b]) => now >= a + W && now < b), now, () => `launch of ${d.count} in ${d.pool} during a CI outage`);
      check(!sup || cloudOf(sup).known, now, () => `launch of ${d.count} in ${d.pool} while the cloud is unknown`);
      check(!blindWindows.some(([a, b]) => now >= a + W && now < b), now, () => `launch of ${d.count} in ${d.pool} while the cloud has been blind or throttling for long`);
      // 7. A throttled launch backs its pool off (from the first refusal), until one succeeds.
      const t = throttledAt.get(d.pool);
      check(t === undefined || now - t >= pl.launchBackoffSeconds * 1000, now, () => `launch in ${d.pool} ${Math.round((now - t!) / 1000)} s after a throttled one (backoff ${pl.launchBackoffSeconds} s)`);
    }
    if (d.kind === 'drain') {
      // 2. Only idle agents (or boots nothing can run on yet) are drained by a decision.
      const a = actors.get(d.key);
      check(!!a && (a.state === 'task-running.idle' || a.state === 'booting.instance'), now, () => `drain decided for ${d.key} in ${a?.state ?? 'no known state'} (${d.reason})`);
      // 6. Nothing is drained for lack of work while the queue is unknown, except the drain to zero after the blind hold.
      if (q && !q.known) {
        const blindLong = now - q.since >= pl.blindHoldSeconds * 1000;
        check(blindLong && /queue unknown .*draining to zero/.test(d.reason), now, () => `drain of ${d.key} while the queue is unknown: ${d.reason}`);
      }
    }
  };

  const onStep = (world: SimWorld, now: number) => {
    totals.steps++;
    counts.steps++;
    const dt = now - lastStep;
    lastStep = now;
    if (trace) {
      const w = JSON.stringify([world.queueDepth, world.instanceStates().map((i) => `${i.id}:${i.state}${i.busy ? ':busy' : ''}${i.interrupted ? ':interrupted' : ''}`)]);
      if (w !== lastWorld) trace(`${stamp(now)} world ${(lastWorld = w)}`);
    }
    const all = world.instanceStates().filter((i) => ALIVE.has(i.state));
    const insts = all.filter((i) => !log.twins.has(i.id));
    for (const i of all) if (i.draining && !drainingSince.has(i.id)) drainingSince.set(i.id, now);
    // 1. Pool max, fleet max, budget.
    const byPool = new Map<string, number>();
    for (const i of insts) byPool.set(i.pool, (byPool.get(i.pool) ?? 0) + 1);
    for (const [pool, n] of byPool) check(n <= poolCfg.get(pool)!.max, now, () => `${n} instances in pool ${pool} (max ${poolCfg.get(pool)!.max})`);
    check(insts.length <= pl.maxInstances, now, () => `${insts.length} instances in the fleet (max ${pl.maxInstances})`);
    const spend = insts.reduce((sum, i) => sum + i.pricePerHour, 0);
    check(spend <= pl.budgetPerHour + 1e-9, now, () => `spending ${spend.toFixed(2)} USD/h (budget ${pl.budgetPerHour.toFixed(2)})`);
    // 2. No build killed by a decision.
    check(world.stats.killedByDecision === 0, now, () => `${world.stats.killedByDecision} build(s) killed by a decision`);
    // 8. One daemon at a time.
    check(running.size <= 1, now, () => `${running.size} daemons running at once`);

    // 3. Empty (and visible) long enough: at the minimum.
    const q = world.queueDepth;
    if (q.pending + q.running === 0 && !inOutage(now, now + 1)) emptySince ??= now;
    else emptySince = null;
    if (emptySince !== null && now - Math.max(emptySince, lastDisruptionBefore(now)) > emptyBoundMs && !inBlind(now - emptyBoundMs, now + 1)) {
      // A spot instance under interruption is the cloud's to end (within two minutes), and an
      // instance draining (an agent died under a minimum instance, say) ends within its drain
      // deadline; their replacements keep the pool's minimum. Neither is counted here until
      // that deadline (plus slack) has passed: a drain that never ends is still caught.
      const kept = new Map<string, number>();
      for (const i of all) {
        const leaving = i.interrupted || (i.draining && now - drainingSince.get(i.id)! <= lc.drainTimeoutSeconds * 1000 + W + hangSlack);
        // An instance made after the queue emptied (a replacement, a twin the cloud made of one
        // launch) has its own paid period to run out: it is judged by the same bound from its launch.
        const recent = now - i.launchedAt <= emptyBoundMs;
        if (!leaving && !recent) kept.set(i.pool, (kept.get(i.pool) ?? 0) + 1);
      }
      for (const [pool, n] of kept) check(n <= poolCfg.get(pool)!.min, now, () => `queue empty for ${Math.round((now - emptySince!) / MIN)} min but pool ${pool} has ${n} instances (min ${poolCfg.get(pool)!.min})`);
    }

    // 4. Every live instance is owned by an actor of the acting daemon, within a bound.
    const snap = daemon?.supervisor.getSnapshot();
    const owned = new Set<string>();
    if (snap) for (const v of fleetOf(snap)) if (v.instanceId) owned.add(v.instanceId);
    for (const id of unownedSince.keys()) if (!all.some((i) => i.id === id)) unownedSince.delete(id);
    for (const i of all) {
      if (owned.has(i.id)) {
        unownedSince.delete(i.id);
        continue;
      }
      const since = unownedSince.get(i.id) ?? now;
      unownedSince.set(i.id, since);
      if (!daemon || inBlind(now - ownBoundMs, now + 1)) continue;
      const over = now - Math.max(since, lastDisruptionBefore(now)) - ownBoundMs - hangSlack;
      counts.checks++;
      if (over > 0) {
        counts.leakedInstanceSeconds += Math.min(over, dt) / 1000;
        if (over <= dt) fail(now, `instance ${i.id} (${i.state}, key ${i.key}) alive and owned by no actor for ${Math.round((now - since) / 1000)} s`);
      }
    }

    // 7. No command outlives its deadline.
    for (const d of running) for (const c of d.interpreter.pending()) check(now - c.since <= deadlineMs, now, () => `${c.action} of ${c.key} in flight for ${Math.round((now - c.since) / 1000)} s (deadline ${deadlineMs / 1000} s)`);

    // 5. No job waits while its pool could grow and nothing launches for it: such a moment may
    // last a tick or a poll (a slot frees between two plans), never longer than the slack W.
    const oldest = new Map<string, number>();
    for (const j of world.pendingJobs()) if (j.pool && !oldest.has(j.pool)) oldest.set(j.pool, j.createdAt);
    for (const pool of poolCfg.keys()) {
      const createdAt = oldest.get(pool);
      const cfg = poolCfg.get(pool)!;
      if (createdAt === undefined) {
        starvedSince.delete(pool);
        continue;
      }
      const live = [...actors.values()].filter((a) => a.state !== 'terminated');
      const mine = live.filter((a) => a.pool === pool);
      const exempt =
        (byPool.get(pool) ?? 0) >= cfg.max ||
        mine.length >= cfg.max ||
        all.length >= pl.maxInstances ||
        live.length >= pl.maxInstances ||
        Math.max(spend, live.length * PRICE) + cfg.pricePerHour > pl.budgetPerHour + 1e-9 ||
        mine.some((a) => a.state.startsWith('requested') || a.state.startsWith('booting')) ||
        now - (lastLaunchAt.get(pool) ?? -Infinity) <= rt.tickSeconds * 1000 ||
        now - (backoffAt.get(pool) ?? -Infinity) <= rt.tickSeconds * 1000 ||
        inOutage(now - W - hangSlack, now + 1) ||
        inBlind(now - W - hangSlack, now + 1) ||
        !daemon ||
        !snap ||
        !queueOf(snap).known ||
        !cloudOf(snap).known;
      if (exempt) {
        starvedSince.delete(pool);
        continue;
      }
      const since = starvedSince.get(pool) ?? now;
      starvedSince.set(pool, since);
      check(!(now - since > W + hangSlack && now - lastDisruptionBefore(now) > W + hangSlack), now, () => `a job of pool ${pool} has waited ${Math.round((now - createdAt) / 1000)} s, ${Math.round((now - since) / 1000)} s of it with room in the pool and nothing launching`);
    }
    if (violations.length > 0) throw new Violation(violations.join('\n'));
  };

  const beforeHalt = (d: Daemon, world: SimWorld) => {
    // 4. Nothing leaks: every instance still alive is owned by a live actor of the last daemon.
    const snap = d.supervisor.getSnapshot();
    const owned = new Set<string>();
    for (const v of fleetOf(snap)) if (v.instanceId) owned.add(v.instanceId);
    const now = clockNow();
    for (const i of world.instanceStates()) {
      if (!ALIVE.has(i.state)) continue;
      counts.checks++;
      if (!owned.has(i.id)) {
        counts.leakedInstanceSeconds += (now - (unownedSince.get(i.id) ?? now)) / 1000;
        fail(NaN, `instance ${i.id} (${i.state}, key ${i.key}) is alive and owned by no actor`);
      }
    }
    // The supervisor's fleet mirrors its actors: one view per live child, naming the same instance.
    for (const gap of fleetMirrorGaps(snap)) fail(NaN, gap);
    counts.checks++;
  };

  const onDaemon = (d: Daemon) => {
    trace?.(`${stamp(clockNow())} daemon started`);
    daemon = d;
    running.add(d);
    counts.daemonsStarted++;
    disruptions.push(clockNow());
    actors.clear();
    throttledAt.clear();
  };
  /** Midway interruptions: at each, a spot interruption hits an instance running a build, if one does. */
  const interruptMidBuild = (world: SimWorld, at: (ms: number, fn: () => void) => void) => {
    for (const t of midBuild)
      at(t, () => {
        const busy = world.instanceStates().find((i) => i.busy && i.state === 'running' && !i.interrupted);
        if (busy) world.interruptNow(busy.id);
      });
  };

  const lastArrival = Math.max(...jobs.map((j) => j.createdAt));
  const end = Math.max(lastArrival + Math.max(...jobs.map((j) => j.durationMs)), ...restarts, ...outageWindows.map(([, b]) => b), ...blindWindows.map(([, b]) => b)) + emptyBoundMs + W;
  const worldOpts = { seed: s.seed, faults: faultsOf(s), ...(s.faults.spotPerHour > 0 || midBuild.length > 0 ? { market: 'spot' as const } : {}) };
  let world: SimWorld | undefined;
  const pending: [number, () => void][] = [];
  try {
    if (more?.replicas) {
      world = await runReplicas({
        jobs,
        start: T0,
        end,
        tailMs: 8 * 3_600_000,
        config,
        world: worldOpts,
        killsAt: restarts,
        ports,
        onTransition,
        onDecision,
        onStep,
        onClock: (c) => (clockNow = () => c.now()),
        onDaemon,
        onHalted: (d) => {
          running.delete(d);
          if (d === daemon) daemon = null;
        },
        onKill: (now) => disruptions.push(now),
        onStart: (w, at) => interruptMidBuild(w, at),
        actsAsHolder: (ok, now, who, what) => check(ok, now, () => `${who} did ${what} while the lease store names another holder`),
        beforeHalt,
      });
    } else {
      let started = false;
      ({ world } = await simulate({
        jobs,
        start: T0,
        // Run at least long enough after the last event for invariant 3 to apply.
        end,
        tailMs: 8 * 3_600_000,
        config,
        world: worldOpts,
        restartsAt: restarts,
        launchIntents: more?.launchIntents ?? false,
        // Quiet polls are skipped as in any replay, unless faults are injected around the ports
        // at times the world does not know (then every poll runs, as the daemon would see them).
        skipQuiet: !more,
        ports: (w) => {
          const p = ports(w);
          return { source: p.source, cloud: p.cloud };
        },
        onTransition,
        onDecision,
        onStep: (w, now) => {
          if (!started) {
            started = true;
            interruptMidBuild(w, (t, fn) => pending.push([t, fn]));
          }
          while (pending.length > 0 && pending[0]![0] <= now) pending.shift()![1]();
          onStep(w, now);
        },
        onClock: (c) => (clockNow = () => c.now()),
        onDaemon: (d) => {
          for (const old of running) running.delete(old);
          onDaemon(d);
        },
        beforeHalt,
      }));
    }
    totals.runs++;
    totals.launches += world.stats.launches;
    totals.launchFailures += world.stats.launchFailures;
    totals.interruptions += world.stats.interruptions;
    totals.killed += world.stats.killed;
    totals.restarts += restarts.length;
    totals.jobs += world.stats.jobs;
    // 5. Every job ran to completion (a build killed by force is requeued and runs again).
    check(world.stats.completed === world.stats.jobs, NaN, () => `${world!.stats.jobs - world!.stats.completed} of ${world!.stats.jobs} jobs never completed`);
    // 3/4 at the end: the fleet wound down to its minimum.
    const left = world.instanceStates().filter((i) => ALIVE.has(i.state));
    for (const p of config.pools) {
      const n = left.filter((i) => i.pool === p.name).length;
      check(n <= p.min, NaN, () => `at the end pool ${p.name} still has ${n} instances (min ${p.min})`);
    }
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
  }
  if (world) {
    counts.jobs = world.stats.jobs;
    counts.launches = world.stats.launches;
    counts.interruptions = world.stats.interruptions;
    counts.lostToInterruptions = world.stats.killedByInterruption;
  }
  counts.hungCalls = log.hung;
  counts.throttledCalls = log.throttled;
  counts.blindDescribes = log.blind;
  counts.twins = log.twins.size;
  return { violations, counts };
}
