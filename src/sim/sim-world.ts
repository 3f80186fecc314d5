import type { PlannerConfig, PoolConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import { demandKey } from '../domain/pool.js';
import { billedSeconds } from '../planner/billing.js';
import type { CloudProvider, FleetSnapshot, LaunchRequest, LaunchResult, Market, ObservedInstance } from '../ports/cloud-provider.js';
import type { DrainStyle, QueueSnapshot, QueueSource, Stage } from '../ports/queue-source.js';
import { seededRandom } from './random.js';
import type { TraceJob } from './trace.js';

/**
 * A simulated CI server and cloud sharing one world: jobs arrive from a trace, wait in the
 * queue, run on agents of simulated instances, and the instances boot, bill and end like
 * cloud instances do. It implements both ports, so the real runtime, machines and planner run
 * against it unchanged. All time comes from the injected clock.
 */
export interface SimFaults {
  /** Fraction of launches that fail with a capacity error. */
  launchErrorRate?: number;
  /** Fraction of instances whose container instance never registers. */
  neverRegisterRate?: number;
  /** Per started agent: chance it dies at a random moment within its first hours. */
  agentDeathRate?: number;
  /** Spot interruptions per instance-hour (warning, then termination two minutes later). */
  spotInterruptionsPerHour?: number;
  /** Windows (ms epoch) in which the CI server answers errors. */
  queueOutages?: readonly (readonly [number, number])[];
  /** Which capacity error a failed launch throws, chosen at random (default: CLOUD_CAPACITY). */
  launchErrorCodes?: readonly ('CLOUD_CAPACITY' | 'CLOUD_LIMIT' | 'CLOUD_THROTTLED')[];
  /** Windows (ms epoch) in which the CI server answers something that does not parse. */
  queueGarbage?: readonly (readonly [number, number])[];
  /** Fraction of queue polls whose answer arrives late (content as of the request). */
  slowQueuePollRate?: number;
  /** Delay of a late queue answer, seconds, uniform (default 1–20; past the poll timeout it is lost). */
  slowQueuePollSeconds?: readonly [number, number];
  /** Fraction of describes that answer what the previous describe answered, if at most a minute old (eventual consistency: late, and twice). */
  laggingDescribeRate?: number;
  /** Fraction of starts of a parked instance that fail with a capacity error (its type has no room in its zone now). */
  unparkCapacityRate?: number;
}

/** How old a lagging describe's answer may be (EC2 and ECS are eventually consistent within seconds). */
const MAX_DESCRIBE_LAG_MS = 60_000;

/** A time range, seconds; each draw is uniform within it. */
export type SecondsRange = readonly [number, number];

export interface SimWorldOptions {
  clock: Clock;
  pools: readonly PoolConfig[];
  billing: PlannerConfig['billing'];
  seed?: number;
  /** Cold launch, first part: `pending` until the VM runs (and is billed), seconds (default 20–30). */
  vmStartSeconds?: SecondsRange;
  /** Cold launch, second part: from `running` until the container instance has registered and the agent image is pulled, seconds (default 40–90). */
  bootstrapSeconds?: SecondsRange;
  /** Parking: `stopping` (not billed) until `stopped`, seconds (default 20–60). */
  stopSeconds?: SecondsRange;
  /** Start of a parked instance: `pending` until the VM runs again, seconds (default 15–25). */
  warmStartSeconds?: SecondsRange;
  /** Start of a parked instance: from `running` until its agent host reconnects (registered again), seconds (default 5–15). */
  reconnectSeconds?: SecondsRange;
  agentStartSeconds?: number;
  terminateSeconds?: number;
  market?: Market;
  /** USD/h per instance; default the pool's price. */
  pricePerHour?: number;
  drainStyle?: DrainStyle;
  faults?: SimFaults;
}

interface SimJob {
  job: TraceJob;
  pool: string | null;
  startedAt: number | null;
  firstStartedAt: number | null;
  agent: string | null;
  doneAt: number | null;
  timer: unknown;
}

interface SimInstance {
  id: string;
  key: string;
  pool: PoolConfig;
  state: ObservedInstance['state'];
  launchedAt: number;
  endedAt: number | null;
  registered: boolean;
  neverRegisters: boolean;
  /** Start of the billed stretch in progress (the VM is `running`); null while pending, stopping, stopped or ended. */
  runningSince: number | null;
  /** Counted in `live`: pending or running, not on its way to parked or ended. */
  up: boolean;
  parkedAt: number | undefined;
  priming: boolean;
  /** Its disk and the disk's price, from the pool's warm-pool settings; the disk exists since `storageSince`. */
  storageGb: number;
  storageSince: number;
  storageUsdPerGbMonth: number;
  agent: ObservedInstance['agent'];
  /** ECS DRAINING / told to stop: takes no new work. */
  draining: boolean;
  /** Server-side no-schedule (Woodpecker/GoCD style). */
  noSchedule: boolean;
  jobs: Set<SimJob>;
  interruptionAt: number | undefined;
  price: number;
  timers: unknown[];
  /** What the last describe showed of it: shown again, the same object, while nothing changed. */
  observed?: ObservedInstance;
}

/** A describe's changes: counted by the fields it shows (see ShownFields), and by instances leaving the list. */
interface ShownChanges {
  n: number;
}

/**
 * The fields a describe shows, behind setters that count each change: while none changed, the
 * next describe answers the last list without reading every instance (quiet polls ask whether
 * it would, for hundreds of instances, every few simulated seconds).
 */
class ShownFields {
  #state: ObservedInstance['state'] = 'pending';
  #launchedAt = 0;
  #registered = false;
  #priming = false;
  #agent: ObservedInstance['agent'] = 'none';
  #draining = false;
  #parkedAt: number | undefined = undefined;
  #interruptionAt: number | undefined = undefined;
  constructor(private readonly changes: ShownChanges) {}
  private set<T>(was: T, now: T): T {
    if (was !== now) this.changes.n++;
    return now;
  }
  get state() { return this.#state; }
  set state(v) { this.#state = this.set(this.#state, v); }
  get launchedAt() { return this.#launchedAt; }
  set launchedAt(v) { this.#launchedAt = this.set(this.#launchedAt, v); }
  get registered() { return this.#registered; }
  set registered(v) { this.#registered = this.set(this.#registered, v); }
  get priming() { return this.#priming; }
  set priming(v) { this.#priming = this.set(this.#priming, v); }
  get agent() { return this.#agent; }
  set agent(v) { this.#agent = this.set(this.#agent, v); }
  get draining() { return this.#draining; }
  set draining(v) { this.#draining = this.set(this.#draining, v); }
  get parkedAt() { return this.#parkedAt; }
  set parkedAt(v) { this.#parkedAt = this.set(this.#parkedAt, v); }
  get interruptionAt() { return this.#interruptionAt; }
  set interruptionAt(v) { this.#interruptionAt = this.set(this.#interruptionAt, v); }
}

export interface SimStats {
  jobs: number;
  arrived: number;
  completed: number;
  /** Jobs killed under a running build (requeued): by interruption, agent death or termination. */
  killed: number;
  /** Of those, killed because the daemon terminated or drained a busy agent (must stay 0). */
  killedByDecision: number;
  /** Of those, killed because a spot interruption ended their instance (the CI user restarts them: requeued). */
  killedByInterruption: number;
  waitsMs: number[];
  launches: number;
  launchFailures: number;
  peakInstances: number;
  /** Time the instances' VMs were `running` (what compute billing counts, before its minimum and rounding). */
  instanceMs: number;
  /** Compute: each stretch from `running` to the start of a stop or terminate, billed with its minimum. Storage is not in it. */
  costUsd: number;
  /** Disks, from launch to the start of a terminate (running, stopping or parked), per GB-month of 730 hours. */
  storageUsd: number;
  jobMs: number;
  interruptions: number;
  /** Instances parked (stopped to keep warm) and started again (warm starts); starts refused for capacity. */
  parks: number;
  unparks: number;
  unparkFailures: number;
}

/** A GB-month of storage as AWS prices it: 730 hours. */
const MONTH_MS = 730 * 3_600_000;

export class SimWorld {
  readonly source: QueueSource;
  readonly cloud: CloudProvider;
  private readonly clock: Clock;
  private readonly rand: () => number;
  private readonly o: Required<Omit<SimWorldOptions, 'faults' | 'pricePerHour' | 'seed'>> & { faults: SimFaults; pricePerHour?: number };
  private readonly instances = new Map<string, SimInstance>();
  private readonly shownChanges: ShownChanges = { n: 0 };
  /** The count of changes the last describe's list saw. */
  private describedAt = -1;
  private readonly pending: SimJob[] = [];
  private readonly running = new Set<SimJob>();
  private readonly poolByDemand = new Map<string, PoolConfig>();
  private live = 0;
  private nextId = 1;
  private trace: TraceJob[] = [];
  private nextArrival = 0;
  /**
   * What the queue shows, rebuilt only after a job arrived, started, ended or was killed: the
   * daemon polls every few seconds and most polls see no change. Answering the same list lets
   * the supervisor and planner keep what they derived from it.
   */
  private shown: Stage[] | null = null;
  readonly stats: SimStats = {
    jobs: 0,
    arrived: 0,
    completed: 0,
    killed: 0,
    killedByDecision: 0,
    killedByInterruption: 0,
    waitsMs: [],
    launches: 0,
    launchFailures: 0,
    peakInstances: 0,
    instanceMs: 0,
    costUsd: 0,
    storageUsd: 0,
    jobMs: 0,
    interruptions: 0,
    parks: 0,
    unparks: 0,
    unparkFailures: 0,
  };

  constructor(opts: SimWorldOptions) {
    this.clock = opts.clock;
    this.rand = seededRandom(opts.seed ?? 1);
    this.o = {
      clock: opts.clock,
      pools: opts.pools,
      billing: opts.billing,
      vmStartSeconds: opts.vmStartSeconds ?? [20, 30],
      bootstrapSeconds: opts.bootstrapSeconds ?? [40, 90],
      stopSeconds: opts.stopSeconds ?? [20, 60],
      warmStartSeconds: opts.warmStartSeconds ?? [15, 25],
      reconnectSeconds: opts.reconnectSeconds ?? [5, 15],
      agentStartSeconds: opts.agentStartSeconds ?? 5,
      terminateSeconds: opts.terminateSeconds ?? 5,
      market: opts.market ?? 'on-demand',
      drainStyle: opts.drainStyle ?? 'signal',
      faults: opts.faults ?? {},
      ...(opts.pricePerHour !== undefined ? { pricePerHour: opts.pricePerHour } : {}),
    };
    for (const p of opts.pools) this.poolByDemand.set(demandKey(p.demand), p);
    this.source = this.makeSource();
    this.cloud = this.makeCloud();
  }

  /** Schedule the trace's arrivals (one timer at a time). */
  load(jobs: readonly TraceJob[]): void {
    this.trace = [...jobs].sort((a, b) => a.createdAt - b.createdAt);
    this.stats.jobs += this.trace.length;
    this.scheduleNextArrival();
  }

  /** Instances pending or running (parked ones are not counted). */
  get liveInstances(): number {
    return this.live;
  }
  /**
   * Every pool down to its minimum (counting what `liveInstances` counts): a fleet whose total
   * is at the sum of the minimums may still hold a surplus in one pool and a gap in another.
   */
  atMinimum(): boolean {
    const pools = this.o.pools;
    if (this.live > pools.reduce((n, p) => n + p.min, 0)) return false;
    const left = new Map<string, number>();
    for (const i of this.instances.values()) if (i.up) left.set(i.pool.name, (left.get(i.pool.name) ?? 0) + 1);
    return pools.every((p) => (left.get(p.name) ?? 0) <= p.min);
  }
  /** Instances stopping to park or parked. */
  get parkedInstances(): number {
    let n = 0;
    for (const i of this.instances.values()) if (i.endedAt === null && (i.state === 'stopping' || i.state === 'stopped')) n++;
    return n;
  }
  get allJobsDone(): boolean {
    return this.nextArrival >= this.trace.length && this.pending.length === 0 && this.running.size === 0;
  }
  get queueDepth(): { pending: number; running: number } {
    return { pending: this.pending.length, running: this.running.size };
  }
  /** For invariant checks: instance id → (busy, state). */
  instanceStates(): { id: string; key: string; pool: string; state: ObservedInstance['state']; busy: boolean; draining: boolean; pricePerHour: number; launchedAt: number; interrupted: boolean; parked: boolean }[] {
    return [...this.instances.values()].map((i) => ({
      id: i.id,
      key: i.key,
      pool: i.pool.name,
      state: i.state,
      busy: i.jobs.size > 0,
      draining: i.draining || i.noSchedule,
      pricePerHour: i.price,
      launchedAt: i.launchedAt,
      interrupted: i.interruptionAt !== undefined,
      parked: i.parkedAt !== undefined,
    }));
  }

  /** For invariant checks: jobs waiting for an agent, with their pool and arrival time. */
  pendingJobs(): { id: string; pool: string | null; createdAt: number }[] {
    return this.pending.map((j) => ({ id: j.job.id, pool: j.pool, createdAt: j.job.createdAt }));
  }

  /**
   * Compute and disks spent until `now`, for a progress line: the closed books, plus what the
   * instances still up have used so far (without the billing minimum they may still reach).
   */
  spentUsd(now: number): number {
    let usd = this.stats.costUsd + this.stats.storageUsd;
    for (const i of this.instances.values()) {
      if (i.endedAt !== null) continue;
      if (i.runningSince !== null) usd += ((now - i.runningSince) / 3_600_000) * i.price;
      usd += ((now - i.storageSince) / MONTH_MS) * i.storageGb * i.storageUsdPerGbMonth;
    }
    return usd;
  }

  /** Close the books on instances still running at the end of a run. */
  finish(): void {
    const now = this.clock.now();
    for (const i of this.instances.values()) {
      if (i.endedAt !== null) continue;
      this.stopBilling(i, now);
      this.closeStorage(i, now);
    }
  }

  // ---- CI side ----

  private scheduleNextArrival(): void {
    const job = this.trace[this.nextArrival];
    if (!job) return;
    this.clock.setTimeout(() => {
      const now = this.clock.now();
      while (this.nextArrival < this.trace.length && this.trace[this.nextArrival]!.createdAt <= now) this.arrive(this.trace[this.nextArrival++]!);
      this.assign();
      this.scheduleNextArrival();
    }, Math.max(0, job.createdAt - this.clock.now()));
  }

  private arrive(job: TraceJob): void {
    this.shown = null;
    this.stats.arrived++;
    this.pending.push({ job, pool: this.poolByDemand.get(demandKey(job.demand))?.name ?? null, startedAt: null, firstStartedAt: null, agent: null, doneAt: null, timer: null });
  }

  /** Runners take work as soon as they have a free slot (Drone runners poll continuously). */
  private assign(): void {
    if (this.pending.length === 0) return;
    const agents = [...this.instances.values()].filter((i) => i.agent === 'running' && !i.draining && !i.noSchedule && i.jobs.size < i.pool.concurrency);
    if (agents.length === 0) return;
    for (let n = 0; n < this.pending.length; ) {
      const j = this.pending[n]!;
      const a = agents.find((i) => i.pool.name === j.pool && i.jobs.size < i.pool.concurrency);
      if (!a) {
        n++;
        continue;
      }
      this.pending.splice(n, 1);
      this.start(j, a);
    }
  }

  private start(j: SimJob, a: SimInstance): void {
    const now = this.clock.now();
    this.shown = null;
    j.startedAt = now;
    j.agent = a.id;
    if (j.firstStartedAt === null) {
      j.firstStartedAt = now;
      this.stats.waitsMs.push(now - j.job.createdAt);
    }
    a.jobs.add(j);
    this.running.add(j);
    j.timer = this.clock.setTimeout(() => this.complete(j, a), j.job.durationMs);
  }

  private complete(j: SimJob, a: SimInstance): void {
    j.doneAt = this.clock.now();
    this.shown = null;
    this.stats.completed++;
    this.stats.jobMs += j.job.durationMs;
    a.jobs.delete(j);
    this.running.delete(j);
    this.agentMaybeExits(a);
    this.assign();
  }

  /** A build dies with its agent or machine; the CI user restarts it (requeued at the front). */
  private kill(a: SimInstance, byDecision: boolean): void {
    if (a.jobs.size > 0) this.shown = null;
    for (const j of a.jobs) {
      this.clock.clearTimeout(j.timer);
      this.running.delete(j);
      j.agent = null;
      j.startedAt = null;
      this.pending.unshift(j);
      this.stats.killed++;
      if (byDecision) this.stats.killedByDecision++;
      else if (a.interruptionAt !== undefined) this.stats.killedByInterruption++;
    }
    a.jobs.clear();
  }

  private agentMaybeExits(a: SimInstance): void {
    // A runner told to stop exits once its builds are done.
    if (a.draining && this.o.drainStyle === 'signal' && a.jobs.size === 0 && (a.agent === 'running' || a.agent === 'pending')) a.agent = 'stopped';
  }

  private makeSource(): QueueSource {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const w = this;
    return {
      kind: 'sim',
      drainStyle: this.o.drainStyle,
      async probe() {},
      async poll(): Promise<QueueSnapshot> {
        const now = w.clock.now();
        for (const [from, to] of w.o.faults.queueOutages ?? []) {
          if (now >= from && now < to) throw new DdaError('SOURCE_HTTP', 'sim: CI server answered 503', { status: 503 });
        }
        for (const [from, to] of w.o.faults.queueGarbage ?? []) {
          if (now >= from && now < to) throw new DdaError('SOURCE_MALFORMED', 'sim: CI server answered something that is not a queue');
        }
        const snapshot = { at: now, stages: w.queueShown() };
        w.answeredStages = snapshot.stages;
        // Draw only when the fault is on: runs without it keep their random sequence.
        const slow = w.o.faults.slowQueuePollRate ?? 0;
        if (slow > 0 && slow > w.rand()) {
          const [lo, hi] = w.o.faults.slowQueuePollSeconds ?? [1, 20];
          await new Promise<void>((resolve) => w.clock.setTimeout(resolve, (lo + (hi - lo) * w.rand()) * 1000));
        }
        return snapshot;
      },
      async drainAgent(name: string) {
        const i = w.instances.get(name);
        if (i) i.noSchedule = true;
      },
      async forgetAgent() {},
    };
  }

  private queueShown(): Stage[] {
    if (this.shown) return this.shown;
    const stages: Stage[] = [];
    for (const j of this.pending) stages.push({ id: j.job.id, status: 'pending', demand: j.job.demand, createdAt: j.job.createdAt });
    for (const j of this.running) stages.push({ id: j.job.id, status: 'running', demand: j.job.demand, agent: j.agent!, createdAt: j.job.createdAt, startedAt: j.startedAt! });
    return (this.shown = stages);
  }

  // ---- cloud side ----

  private makeCloud(): CloudProvider {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const w = this;
    return {
      kind: 'sim',
      async launch(req: LaunchRequest): Promise<LaunchResult> {
        // As EC2 with a ClientToken: the key is the token, and a repeat answers the first instance.
        const first = req.repeat ? w.launchedWithKey(req.key) : undefined;
        if (first) return first;
        if (req.onAttempt) await req.onAttempt({ clientToken: req.key, detail: {} });
        return w.launch(req);
      },
      async describe(): Promise<FleetSnapshot> {
        return w.describe();
      },
      async startAgent(instanceId: string) {
        const i = w.mustFind(instanceId);
        if (!i.registered || i.state !== 'running') throw new DdaError('CLOUD_FAILED', `sim: ${instanceId} has no registered container instance`);
        if (i.agent === 'running' || i.agent === 'pending') return;
        i.agent = 'pending';
        i.priming = false;
        i.timers.push(
          w.clock.setTimeout(() => {
            if (i.state !== 'running' || i.agent !== 'pending') return;
            i.agent = 'running';
            w.maybeKillAgentLater(i);
            w.assign();
          }, w.o.agentStartSeconds * 1000),
        );
      },
      async drainAgent(instanceId: string, stopAgent: boolean) {
        const i = w.mustFind(instanceId);
        i.draining = true;
        if (stopAgent) w.agentMaybeExits(i);
      },
      async terminate(instanceId: string) {
        const i = w.instances.get(instanceId);
        if (!i || i.state === 'terminated') throw new DdaError('CLOUD_NOT_FOUND', `sim: ${instanceId} not found`);
        w.end(i, true);
      },
      async park(instanceId: string) {
        w.park(instanceId);
      },
      async unpark(instanceId: string) {
        w.unpark(instanceId);
      },
    };
  }

  /** The instance a launch with this key made, as its launch answered. */
  private launchedWithKey(key: string): LaunchResult | undefined {
    let found: SimInstance | undefined;
    for (const i of this.instances.values()) if (i.key === key) found = i;
    return found && { instanceId: found.id, instanceType: 'sim.4vcpu', market: this.o.market, pricePerHour: found.price, launchedAt: found.launchedAt };
  }

  private launch(req: LaunchRequest): LaunchResult {
    const pool = this.o.pools.find((p) => p.name === req.pool);
    if (!pool) throw new DdaError('CLOUD_FAILED', `sim: unknown pool ${req.pool}`);
    if ((this.o.faults.launchErrorRate ?? 0) > this.rand()) {
      this.stats.launchFailures++;
      const codes = this.o.faults.launchErrorCodes;
      const code = codes?.length ? codes[Math.floor(this.rand() * codes.length)]! : 'CLOUD_CAPACITY';
      const text = { CLOUD_CAPACITY: 'InsufficientInstanceCapacity', CLOUD_LIMIT: 'VcpuLimitExceeded', CLOUD_THROTTLED: 'RequestLimitExceeded' }[code];
      throw new DdaError(code, `sim: ${text}`);
    }
    const now = this.clock.now();
    const id = `i-sim${(this.nextId++).toString(16).padStart(12, '0')}`;
    const init: SimInstance = {
      id,
      key: req.key,
      pool,
      state: 'pending',
      launchedAt: now,
      endedAt: null,
      registered: false,
      neverRegisters: (this.o.faults.neverRegisterRate ?? 0) > this.rand(),
      runningSince: null,
      up: true,
      priming: req.purpose === 'park',
      storageGb: pool.warmPool?.storageGb ?? 30,
      storageSince: now,
      storageUsdPerGbMonth: pool.warmPool?.storageUsdPerGbMonth ?? 0.08,
      agent: 'none',
      draining: false,
      noSchedule: false,
      jobs: new Set(),
      price: this.o.pricePerHour ?? pool.pricePerHour,
      timers: [],
      parkedAt: undefined,
      interruptionAt: undefined,
    };
    // The shown fields are set through their setters: from now on each change is counted.
    const i: SimInstance = Object.assign(new ShownFields(this.shownChanges), init);
    this.instances.set(id, i);
    this.shownChanges.n++;
    this.stats.launches++;
    this.live++;
    this.stats.peakInstances = Math.max(this.stats.peakInstances, this.live);
    // Both parts of the boot are drawn now, in a fixed order: the random sequence does not
    // depend on when the timers fire.
    const vmMs = this.draw(this.o.vmStartSeconds);
    const bootstrapMs = this.draw(this.o.bootstrapSeconds);
    this.startVm(i, vmMs, bootstrapMs, !i.neverRegisters);
    this.armInterruption(i);
    return { instanceId: id, instanceType: 'sim.4vcpu', market: this.o.market, pricePerHour: i.price, launchedAt: now };
  }

  private draw([lo, hi]: SecondsRange): number {
    return (lo + (hi - lo) * this.rand()) * 1000;
  }

  /**
   * The VM runs after `vmMs` (billing starts there, as on AWS), and its agent host is usable
   * (`registered`) `hostMs` later: after the bootstrap on a cold launch, after the reconnect on
   * the start of a parked instance.
   */
  private startVm(i: SimInstance, vmMs: number, hostMs: number, registers: boolean): void {
    i.timers.push(
      this.clock.setTimeout(() => {
        if (i.state !== 'pending') return;
        i.state = 'running';
        i.runningSince = this.clock.now();
        if (!registers) return;
        i.timers.push(
          this.clock.setTimeout(() => {
            if (i.state !== 'running') return;
            i.registered = true;
          }, hostMs),
        );
      }, vmMs),
    );
  }

  private armInterruption(i: SimInstance): void {
    const rate = this.o.faults.spotInterruptionsPerHour ?? 0;
    if (rate > 0) {
      const atMs = (-Math.log(1 - this.rand()) / rate) * 3_600_000;
      i.timers.push(this.clock.setTimeout(() => this.interrupt(i), atMs));
    }
  }

  /**
   * Stop an idle, registered instance to keep it warm: compute billing stops now, its disk and
   * its container instance's registration stay, the agent task is gone. The container instance
   * comes back ACTIVE, not DRAINING: the next agent on it is a new one.
   */
  private park(id: string): void {
    const i = this.mustFind(id);
    // StopInstances on a stopped or stopping instance changes nothing.
    if (i.state === 'stopping' || i.state === 'stopped') return;
    if (i.jobs.size > 0) throw new DdaError('CLOUD_FAILED', `sim: ${id} runs a build: not parked`);
    if (i.state !== 'running' || !i.registered) throw new DdaError('CLOUD_FAILED', `sim: ${id} has no registered container instance: not parked`);
    if (i.interruptionAt !== undefined) throw new DdaError('CLOUD_FAILED', `sim: ${id} is being interrupted: not parked`);
    const now = this.clock.now();
    for (const t of i.timers) this.clock.clearTimeout(t);
    i.timers = [];
    this.stopBilling(i, now);
    i.state = 'stopping';
    i.agent = 'none';
    i.draining = false;
    i.noSchedule = false;
    i.priming = false;
    i.parkedAt = now;
    i.up = false;
    this.live--;
    this.stats.parks++;
    i.timers.push(
      this.clock.setTimeout(() => {
        if (i.state === 'stopping') i.state = 'stopped';
      }, this.draw(this.o.stopSeconds)),
    );
  }

  /**
   * Start a parked instance: the VM runs again after a warm start (billed from `running`, and
   * reported as launched now, as AWS reports LaunchTime), and its agent host is usable once it
   * has reconnected.
   */
  private unpark(id: string): void {
    const i = this.mustFind(id);
    // StartInstances on a started instance changes nothing.
    if (i.state === 'pending' || i.state === 'running') return;
    if (i.state === 'stopping') throw new DdaError('CLOUD_FAILED', `sim: ${id} is still stopping: not started`);
    const fail = this.o.faults.unparkCapacityRate ?? 0;
    // Draw only when the fault is on: runs without it keep their random sequence.
    if (fail > 0 && fail > this.rand()) {
      this.stats.unparkFailures++;
      throw new DdaError('CLOUD_CAPACITY', `sim: InsufficientInstanceCapacity starting ${id}`);
    }
    const now = this.clock.now();
    i.state = 'pending';
    i.registered = false;
    i.parkedAt = undefined;
    i.launchedAt = now;
    i.up = true;
    this.live++;
    this.stats.peakInstances = Math.max(this.stats.peakInstances, this.live);
    this.stats.unparks++;
    const vmMs = this.draw(this.o.warmStartSeconds);
    const reconnectMs = this.draw(this.o.reconnectSeconds);
    this.startVm(i, vmMs, reconnectMs, true);
    this.armInterruption(i);
  }

  private maybeKillAgentLater(i: SimInstance): void {
    if ((this.o.faults.agentDeathRate ?? 0) <= this.rand()) return;
    i.timers.push(
      this.clock.setTimeout(() => {
        if (i.agent !== 'running') return;
        i.agent = 'stopped';
        this.kill(i, false);
        this.assign();
      }, this.rand() * 4 * 3_600_000),
    );
  }

  /**
   * A spot interruption of this instance now (warning, then the end two minutes later), as the
   * Poisson knob would draw one: for fault scenarios that aim it at a running build. False when
   * the instance is gone or already being interrupted.
   */
  interruptNow(instanceId: string): boolean {
    const i = this.instances.get(instanceId);
    if (!i || i.endedAt !== null || i.interruptionAt !== undefined || i.state !== 'running') return false;
    this.interrupt(i);
    return true;
  }

  private interrupt(i: SimInstance): void {
    if (i.endedAt !== null) return;
    i.interruptionAt = this.clock.now();
    this.stats.interruptions++;
    i.timers.push(this.clock.setTimeout(() => this.end(i, false), 120_000));
  }

  /** Billing stops when the machine is told to end; it disappears a few seconds later. */
  private end(i: SimInstance, byDecision: boolean): void {
    if (i.endedAt !== null) return;
    const now = this.clock.now();
    this.kill(i, byDecision);
    for (const t of i.timers) this.clock.clearTimeout(t);
    i.timers = [];
    this.stopBilling(i, now);
    this.closeStorage(i, now);
    i.state = 'shutting-down';
    i.agent = 'stopped';
    if (i.up) {
      i.up = false;
      this.live--;
    }
    this.clock.setTimeout(() => {
      i.state = 'terminated';
      // AWS keeps terminated instances visible for about an hour.
      this.clock.setTimeout(() => {
        this.instances.delete(i.id);
        this.shownChanges.n++;
      }, 3_600_000);
    }, this.o.terminateSeconds * 1000);
    this.assign();
  }

  /** The billed stretch in progress ends (a stop or terminate begins): each stretch has its own minimum, as each start does on AWS. */
  private stopBilling(i: SimInstance, now: number): void {
    if (i.runningSince === null) return;
    const ms = now - i.runningSince;
    i.runningSince = null;
    this.stats.instanceMs += ms;
    this.stats.costUsd += (billedSeconds(ms, this.o.billing) / 3600) * i.price;
  }

  /** The disk lives from launch until the instance is terminated, whether it runs or is parked. */
  private closeStorage(i: SimInstance, now: number): void {
    i.endedAt = now;
    this.stats.storageUsd += ((now - i.storageSince) / MONTH_MS) * i.storageGb * i.storageUsdPerGbMonth;
  }

  private lastDescribe: FleetSnapshot | null = null;

  private describe(): FleetSnapshot {
    const lag = this.o.faults.laggingDescribeRate ?? 0;
    // Late by what eventual consistency takes (seconds), never by what a long blindness lasted:
    // an answer from before a 20-minute throttle would show an agent started since as stopped.
    if (lag > 0 && this.lastDescribe && lag > this.rand() && this.clock.now() - this.lastDescribe.at <= MAX_DESCRIBE_LAG_MS) return this.lastDescribe;
    this.lastDescribe = this.describeNow();
    return this.lastDescribe;
  }

  /** The stage list the last queue poll answered. */
  private answeredStages: Stage[] | null = null;

  /**
   * The next queue poll would answer what the last one did, the same list, until a timer of the
   * world fires: no fault draws per poll or changes the answers by the clock, and nothing
   * changed since.
   */
  queueRepeats(): boolean {
    return this.noFaultPerPoll() && this.answeredStages !== null && this.queueShown() === this.answeredStages;
  }

  /** The same for the next describe. (Describing has no effect but keeping its list.) */
  fleetRepeats(): boolean {
    const last = this.lastDescribe?.instances;
    return this.noFaultPerPoll() && last !== undefined && this.describeNow().instances === last;
  }

  private noFaultPerPoll(): boolean {
    const f = this.o.faults;
    return !((f.slowQueuePollRate ?? 0) > 0 || (f.laggingDescribeRate ?? 0) > 0 || (f.queueOutages?.length ?? 0) > 0 || (f.queueGarbage?.length ?? 0) > 0);
  }

  /** The last describe's list: answered again, the same list, while no instance changed. */
  private described: ObservedInstance[] = [];

  private describeNow(): FleetSnapshot {
    if (this.describedAt === this.shownChanges.n) return { at: this.clock.now(), instances: this.described };
    this.describedAt = this.shownChanges.n;
    const instances: ObservedInstance[] = [];
    let same = this.described.length === this.instances.size;
    for (const i of this.instances.values()) {
      const o = i.observed;
      if (o && o.state === i.state && o.registered === i.registered && o.agent === i.agent && o.draining === i.draining && o.launchedAt === i.launchedAt && o.interruptionAt === i.interruptionAt && o.parkedAt === i.parkedAt && (o.priming ?? false) === i.priming) {
        same &&= this.described[instances.length] === o;
        instances.push(o);
        continue;
      }
      same = false;
      instances.push((i.observed = {
        instanceId: i.id,
        key: i.key,
        pool: i.pool.name,
        state: i.state,
        instanceType: 'sim.4vcpu',
        market: this.o.market,
        pricePerHour: i.price,
        launchedAt: i.launchedAt,
        registered: i.registered,
        agent: i.agent,
        draining: i.draining,
        ...(i.interruptionAt !== undefined ? { interruptionAt: i.interruptionAt } : {}),
        ...(i.parkedAt !== undefined ? { parkedAt: i.parkedAt } : {}),
        ...(i.priming ? { priming: true } : {}),
        storageGb: i.storageGb,
      }));
    }
    if (!same) this.described = instances;
    return { at: this.clock.now(), instances: this.described };
  }

  private mustFind(id: string): SimInstance {
    const i = this.instances.get(id);
    if (!i || i.state === 'terminated' || i.state === 'shutting-down') throw new DdaError('CLOUD_NOT_FOUND', `sim: ${id} not found`);
    return i;
  }
}
