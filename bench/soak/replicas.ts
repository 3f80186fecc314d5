import { pino } from 'pino';
import type { Config } from '../../src/config/config.js';
import type { LeaseStore } from '../../src/ports/lease.js';
import type { CloudProvider } from '../../src/ports/cloud-provider.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import type { Decision } from '../../src/planner/types.js';
import { startDaemon, type Daemon } from '../../src/runtime/daemon.js';
import type { Transition } from '../../src/runtime/lifecycle-log.js';
import { startReplica, type Replica } from '../../src/runtime/replica.js';
import { awaitOnVirtualTime, VirtualClock } from '../../src/runtime/virtual-clock.js';
import { MemoryLeaseStore } from '../../src/sim/lease-store.js';
import { SimWorld, type SimWorldOptions } from '../../src/sim/sim-world.js';
import type { TraceJob } from '../../src/sim/trace.js';
import { atRest } from '../../src/sim/simulate.js';
import type { FaultyPorts } from './faults.js';

/**
 * Two replicas of one daemon on one simulated world and one in-memory lease store, on virtual
 * time (as src/sim/simulate.ts runs one daemon): one acts, the other stands by. At each of
 * `killsAt` the active replica's process dies — nothing it sends arrives from then on, and no
 * answer still due reaches it, its lease is not released — and a new process starts in its
 * place, as a service manager restarts it. Every change a replica makes to the cloud or the CI
 * server is checked against the lease store's holder at that instant.
 */
export interface ReplicaRunOptions {
  jobs: readonly TraceJob[];
  start: number;
  end: number;
  tailMs: number;
  config: Config;
  world: Omit<SimWorldOptions, 'clock' | 'pools' | 'billing'>;
  killsAt: readonly number[];
  ports: (world: SimWorld) => FaultyPorts;
  onTransition: (t: Transition) => void;
  onDecision: (d: Decision, now: number) => void;
  onStep: (world: SimWorld, now: number) => void;
  onClock: (clock: VirtualClock) => void;
  /** A replica's daemon started acting. */
  onDaemon: (d: Daemon) => void;
  /** A daemon stopped acting: halted (lease lost, or the end), or its process killed. */
  onHalted: (d: Daemon) => void;
  onKill: (now: number) => void;
  /** Once, with the world and a way to run something at an instant. */
  onStart: (world: SimWorld, at: (ms: number, fn: () => void) => void) => void;
  /** Each change a replica makes: was it the lease store's holder then? */
  actsAsHolder: (ok: boolean, now: number, who: string, what: string) => void;
  beforeHalt: (d: Daemon, world: SimWorld) => void;
}

/** The lease as the soak runs it: short, so a takeover fits a few-hour scenario many times. */
const LEASE = { durationMs: 30_000, renewMs: 10_000 };

interface Process {
  name: string;
  replica: Replica;
  ports: FaultyPorts;
  daemon: Daemon | null;
  dead: boolean;
  /** Its daemon acts: from its start until it is halted or the process is killed. */
  acting: boolean;
}

export async function runReplicas(o: ReplicaRunOptions): Promise<SimWorld> {
  const clock = new VirtualClock(o.start);
  o.onClock(clock);
  const logger = pino({ level: 'silent' });
  const world = new SimWorld({ ...o.config.simulatedCloud, ...o.world, clock, pools: o.config.pools, billing: o.config.planner.billing });
  world.load(o.jobs);
  o.onStart(world, (ms, fn) => clock.setTimeout(fn, ms - o.start));
  const store = new MemoryLeaseStore();
  let seen = 0;
  let lastHolder: string | null = null;
  const holder = () => {
    for (; seen < store.writes.length; seen++) if (store.writes[seen]!.op === 'swap') lastHolder = store.writes[seen]!.holder;
    return lastHolder;
  };
  const processes: Process[] = [];

  const spawn = (name: string): Process => {
    const ports = o.ports(world);
    const p = { name, ports, daemon: null, dead: false, acting: false } as unknown as Process;
    const asHolder =
      <A extends unknown[], T>(what: string, fn: (...a: A) => Promise<T>) =>
      (...a: A): Promise<T> => {
        o.actsAsHolder(holder() === name, clock.now(), name, what);
        return fn(...a);
      };
    const c = ports.cloud;
    const cloud: CloudProvider = {
      kind: c.kind,
      launch: asHolder('launch', c.launch.bind(c)),
      describe: c.describe.bind(c),
      startAgent: asHolder('startAgent', c.startAgent.bind(c)),
      drainAgent: asHolder('drainAgent', c.drainAgent.bind(c)),
      terminate: asHolder('terminate', c.terminate.bind(c)),
      ...(c.park ? { park: asHolder('park', c.park.bind(c)) } : {}),
      ...(c.unpark ? { unpark: asHolder('unpark', c.unpark.bind(c)) } : {}),
    };
    const s = ports.source;
    const source: QueueSource = { ...s, poll: s.poll.bind(s), probe: s.probe.bind(s), drainAgent: asHolder('drainAgent (CI)', s.drainAgent.bind(s)), forgetAgent: asHolder('forgetAgent', s.forgetAgent.bind(s)) };
    p.replica = startReplica({
      config: o.config,
      source,
      cloud,
      clock,
      logger,
      abortablePolls: false,
      // What a halted or killed daemon's actors still do (answers timing out while it halts)
      // is its own fiction, not the fleet's: only the acting daemon's transitions are checked.
      onTransition: (t) => {
        if (p.acting) o.onTransition(t);
      },
      onDecision: o.onDecision,
      lease: { store: processStore(store, () => p.dead), holder: name, ...LEASE },
      startDaemon: (opts) => {
        p.acting = true;
        const d = startDaemon(opts);
        p.daemon = d;
        o.onDaemon(d);
        const halt = d.halt.bind(d);
        return Object.assign(d, {
          halt: async () => {
            if (p.daemon === d) {
              p.daemon = null;
              p.acting = false;
              o.onHalted(d);
            }
            await halt();
          },
        });
      },
    });
    processes.push(p);
    return p;
  };

  spawn('a');
  spawn('b');
  let next = 'c'.charCodeAt(0);
  for (const at of o.killsAt) {
    clock.setTimeout(() => {
      const p = processes.find((q) => !q.dead && q.replica.role === 'active');
      if (!p) return;
      p.dead = true;
      p.acting = false;
      p.ports.kill();
      if (p.daemon) {
        o.onHalted(p.daemon);
        p.daemon = null;
      }
      o.onKill(clock.now());
      // Its timers stop with it; the lease is left to expire.
      void p.replica.halt({ release: false });
      spawn(String.fromCharCode(next++));
    }, at - o.start);
  }

  const minFleet = o.config.pools.reduce((n, p) => n + p.min, 0);
  const acting = () => processes.find((p) => !p.dead && p.daemon)?.daemon ?? null;
  const hardEnd = Math.max(o.end, ...o.jobs.map((j) => j.createdAt)) + o.tailMs;
  await clock.runUntil(hardEnd, () => {
    const now = clock.now();
    o.onStep(world, now);
    const d = acting();
    return now >= o.end && d !== null && atRest(world, d, minFleet);
  });
  const last = acting();
  if (last) o.beforeHalt(last, world);
  // A halt waits for commands in flight up to their deadline, on the virtual clock.
  const boundS = o.config.runtime.commandTimeoutSeconds + o.config.runtime.shutdownTimeoutSeconds;
  const halts = Promise.all(processes.filter((p) => !p.dead).map((p) => p.replica.halt()));
  if (!(await awaitOnVirtualTime(clock, halts, boundS * 1000))) throw new Error(`the replicas did not halt within the command deadline and the shutdown bound (${boundS} s)`);
  world.finish();
  return world;
}

/** The store as one process sees it: once the process is dead, nothing it asks arrives. */
function processStore(store: LeaseStore, dead: () => boolean): LeaseStore {
  const never = new Promise<never>(() => {});
  const gate =
    <A extends unknown[], T>(fn: (...a: A) => Promise<T>) =>
    (...a: A): Promise<T> =>
      dead() ? never : fn(...a);
  return {
    kind: store.kind,
    read: gate(store.read.bind(store)),
    swap: gate(store.swap.bind(store)),
    putIntent: gate(store.putIntent.bind(store)),
    clearIntent: gate(store.clearIntent.bind(store)),
    intents: gate(store.intents.bind(store)),
  };
}
