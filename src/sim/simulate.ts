import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { startDaemon, type Daemon } from '../runtime/daemon.js';
import type { Transition } from '../runtime/lifecycle-log.js';
import { awaitOnVirtualTime, VirtualClock } from '../runtime/virtual-clock.js';
import type { Decision } from '../planner/types.js';
import { buildReport, type SimReport } from './report.js';
import { SimWorld, type SimWorldOptions } from './sim-world.js';
import type { TraceJob } from './trace.js';
import { pino } from 'pino';
import { holdsOf, instanceById, liveCount, steadyFor } from '../../machines/supervisor/selectors.js';
import { CapsWatch } from './caps-watch.js';
import { intentTimings, LaunchIntents } from '../runtime/launch-intents.js';
import { MemoryLeaseStore } from './lease-store.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';

export interface SimulationOptions {
  jobs: readonly TraceJob[];
  start: number;
  end: number;
  config: Config;
  world?: Omit<SimWorldOptions, 'clock' | 'pools' | 'billing'>;
  logger?: Logger;
  /** After the last job, how long the fleet gets to wind down to its minimum (default 1 day). */
  tailMs?: number;
  onTransition?: (t: Transition) => void;
  /**
   * Every decision of every planning round the daemon ran; `first`: it opens a round. A replay
   * that skips quiet time skips rounds that would have decided what the last one did (the
   * same holds): the decision log, which logs a hold when it starts, is the same either way.
   */
  onDecision?: (d: Decision, now: number, first: boolean) => void;
  /** Hands out the virtual clock (e.g. for a logger's timestamps). */
  onClock?: (clock: VirtualClock) => void;
  /** Called after every simulated instant; for invariant checks. */
  onStep?: (world: SimWorld, now: number) => void;
  /**
   * Halt the daemon at these instants (ms epoch) and start a new one on the same world and
   * clock, as a crash and restart would: the new supervisor must adopt the fleet from its tags.
   */
  restartsAt?: readonly number[];
  /** Called with each daemon started (the first, then one per restart). */
  onDaemon?: (daemon: Daemon, world: SimWorld) => void;
  /**
   * Run no faster than a person can watch: after every `everyMs` of simulated time, wait for
   * `wait` (the caller holds the wall-clock time it needs). Absent: as fast as the CPU allows.
   */
  pacer?: { everyMs: number; wait: (now: number) => Promise<void> };
  /** Called once at the end, before the last daemon is halted (its actors are still alive). */
  beforeHalt?: (daemon: Daemon, world: SimWorld) => void;
  /**
   * Launch intents in an in-memory lease store: a restarted daemon settles the last one's
   * launches and plans at once. Default false: after a restart, launches are held for
   * lifecycle.goneGraceSeconds, as a daemon without a lease store does. (The first daemon is
   * never held: a fresh simulated cloud has no earlier launch a describe could omit.)
   * Off by default because the intents' extra awaits reorder events within an instant, which
   * moves the seeded 14-day replay's instance-hours (339.09 → 339.13).
   */
  launchIntents?: boolean;
  /**
   * Skip polls and ticks that provably change nothing (default true): while the supervisor is
   * steady (every agent running a build, in a cold boot or ending, and the planner's plan empty
   * and unchanged by the time: steadyUntil in the supervisor machine), the clock moves each tick,
   * and each poll whose answer the world says would repeat, on by whole periods of its own to the
   * next timer of the world (an arrival, a build's end, a boot step), the next poll whose answer
   * changed (the world changed since it last answered), or the next deadline. The same supervisor,
   * actors and planner run every instant that can change anything; the watched time the
   * arrivals history counts is kept as the skipped polls would have kept it. False: every poll
   * runs (for comparisons). Off by default when `ports` is given: the world vouches only for its
   * own answers, not for faults injected around them at times it does not know.
   */
  skipQuiet?: boolean;
  /**
   * The ports each daemon is given, made from the world's (fault injection around them, say).
   * Called once per daemon started. Default: the world's own source and cloud.
   */
  ports?: (world: SimWorld) => { source: QueueSource; cloud: CloudProvider };
}

export interface SimulationResult {
  report: SimReport;
  world: SimWorld;
}

/**
 * A run may end here: every job done, every pool at its minimum (in the world and in the
 * daemon's fleet), and every instance up owned by an actor of the daemon (one whose launch
 * answered too late, and that the next describe adopts, is not a fleet at its minimum yet).
 */
export function atRest(world: SimWorld, daemon: Daemon, minFleet: number): boolean {
  if (!world.allJobsDone || !world.atMinimum()) return false;
  const snap = daemon.supervisor.getSnapshot();
  return liveCount(snap) <= minFleet && world.instanceStates().every((i) => (i.state !== 'pending' && i.state !== 'running') || instanceById(snap, i.id) !== undefined);
}

/**
 * Replay a trace through the real daemon — streams, supervisor, instance actors, planner —
 * against the simulated CI server and cloud, on virtual time, as fast as the CPU allows.
 * Ends when every job is done and the fleet is at its minimum, or the tail runs out.
 */
export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  const t0 = performance.now();
  const clock = new VirtualClock(o.start);
  o.onClock?.(clock);
  const logger = o.logger ?? pino({ level: 'silent' });
  const world = new SimWorld({ ...o.config.simulatedCloud, ...o.world, clock, pools: o.config.pools, billing: o.config.planner.billing });
  world.load(o.jobs);
  const minFleet = o.config.pools.reduce((n, p) => n + p.min, 0);
  // One holder for the whole run: the simulated daemons follow each other, never overlap.
  const store = o.launchIntents === true ? new MemoryLeaseStore() : undefined;
  const HOLDER = 'sim';
  await store?.swap(null, { holder: HOLDER, version: HOLDER, expiresAt: Number.MAX_SAFE_INTEGER, durationMs: Number.MAX_SAFE_INTEGER });
  let first = true;
  // The world vouches for its own answers (and a caller that skips with ports of its own, for
  // those): a skip may drop the polls that repeat.
  const skipping = o.skipQuiet ?? o.ports === undefined;
  const start = async () => {
    const ports = o.ports?.(world) ?? { source: world.source, cloud: world.cloud };
    let cloud = ports.cloud;
    let settled = first;
    first = false;
    if (store) {
      const intents = new LaunchIntents(ports.cloud, { store, holder: HOLDER, clock, logger, ...intentTimings(o.config) });
      settled = (await intents.recoverWithin(o.config.pools, o.config.runtime.commandTimeoutSeconds * 1000)) || settled;
      cloud = intents.cloud;
    }
    const d = startDaemon({
      config: o.config,
      source: ports.source,
      cloud,
      clock,
      logger,
      abortablePolls: false,
      ...(skipping ? { answersRepeat: { queue: () => world.queueRepeats(), fleet: () => world.fleetRepeats() } } : {}),
      ...(settled ? { settleMs: 0 } : {}),
      ...(o.onTransition ? { onTransition: o.onTransition } : {}),
      ...(o.onDecision ? { onDecision: o.onDecision } : {}),
    });
    o.onDaemon?.(d, world);
    return d;
  };
  let daemon = await start();
  // Restarts follow each other, even two at one instant: each halts the daemon the one before
  // started, so there is never more than one daemon, and onDaemon hears them in order.
  let restarting = Promise.resolve();
  for (const at of o.restartsAt ?? []) {
    clock.setTimeout(() => {
      restarts++;
      restarting = restarting.then(async () => {
        await daemon.halt();
        daemon = await start();
        restarts--;
      });
    }, at - o.start);
  }
  const lastArrival = o.jobs.reduce((m, j) => Math.max(m, j.createdAt), o.start);
  const hardEnd = Math.max(o.end, lastArrival) + (o.tailMs ?? 86_400_000);
  const settled = () => atRest(world, daemon, minFleet);
  const onStep = o.onStep;
  const caps = new CapsWatch();
  let done = false;
  const step = () => {
    caps.step(clock.now(), holdsOf(daemon.supervisor.getSnapshot()), () => world.pendingJobs());
    onStep?.(world, clock.now());
    return (done = clock.now() >= o.end && settled());
  };
  // Until when polls and ticks may be skipped: -Infinity while anything may change; never past
  // the end of the window (where the run may stop), nor during a restart or a command.
  let restarts = 0;
  const quietUntil = (): number => {
    const now = clock.now();
    if (restarts > 0 || daemon.interpreter.pending().length > 0) return -Infinity;
    const until = steadyFor(daemon.supervisor.getSnapshot(), now);
    if (until === -Infinity) return -Infinity;
    // Nor past a midnight: progress views report the first instant of each simulated day.
    const midnight = (Math.floor(now / 86_400_000) + 1) * 86_400_000;
    return Math.min(until, midnight, now < o.end ? o.end : Infinity);
  };
  const skip = skipping ? quietUntil : undefined;
  if (!o.pacer) await clock.runUntil(hardEnd, step, skip);
  else {
    for (let t = clock.now(); !done && t < hardEnd; ) {
      t = Math.min(hardEnd, t + o.pacer.everyMs);
      await clock.runUntil(t, step, skip);
      if (!done) await o.pacer.wait(clock.now());
    }
  }
  o.beforeHalt?.(daemon, world);
  const boundS = o.config.runtime.commandTimeoutSeconds + o.config.runtime.shutdownTimeoutSeconds;
  if (!(await awaitOnVirtualTime(clock, daemon.halt(), boundS * 1000))) throw new Error(`the daemon did not halt within its command deadline and shutdown bound (${boundS} s of simulated time)`);
  world.finish();
  const report = buildReport(world.stats, {
    start: o.start,
    end: o.end,
    instancesLeft: world.liveInstances,
    parkedLeft: world.parkedInstances,
    wallMs: performance.now() - t0,
    concurrency: o.config.pools[0]?.concurrency ?? 1,
    caps: { use: caps.result(), poolMax: Object.fromEntries(o.config.pools.map((p) => [p.name, p.max])), fleetMax: o.config.planner.maxInstances, budgetPerHour: o.config.planner.budgetPerHour },
  });
  return { report, world };
}
