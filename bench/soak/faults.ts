import { DdaError, isDdaError } from '../../src/domain/errors.js';
import type { CloudProvider, LaunchRequest } from '../../src/ports/cloud-provider.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import type { SimWorld } from '../../src/sim/sim-world.js';

/**
 * The soak's faults that live between the daemon and the simulated world, as decorators on the
 * ports (so the world's own random sequence is untouched): calls that never answer, windows of
 * cloud blindness and of throttling, duplicate launches, and a process that dies (every call
 * from then on, and every answer still due, is lost).
 */
export interface PortFaults {
  rand: () => number;
  now: () => number;
  duplicateLaunchRate: number;
  hangRate: number;
  describeOutages: readonly (readonly [number, number])[];
  throttles: readonly (readonly [number, number])[];
}

export interface PortFaultLog {
  hung: number;
  throttled: number;
  blind: number;
  /** Instances the cloud made as a second one for a key (not the daemon's doing: caps exempt them). */
  readonly twins: Set<string>;
  /** A launch of this pool was refused as throttled (time), or one succeeded (null). */
  onLaunchOutcome: (pool: string, throttledAt: number | null) => void;
}

const NEVER = new Promise<never>(() => {});
const within = (w: PortFaults['describeOutages'], now: number) => w.some(([a, b]) => now >= a && now < b);

export interface FaultyPorts {
  source: QueueSource;
  cloud: CloudProvider;
  /** The process died: nothing it sends arrives, nothing due to it is answered. */
  kill(): void;
}

export function faultyPorts(world: SimWorld, f: PortFaults, log: PortFaultLog): FaultyPorts {
  let dead = false;
  /** A call that may never answer: before the cloud acts (the request is lost) or after (the answer is). */
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (dead) return NEVER;
    if (f.hangRate > 0 && f.hangRate > f.rand()) {
      log.hung++;
      if (f.rand() < 0.5) return NEVER;
      await fn().catch(() => undefined);
      return NEVER;
    }
    const r = await fn();
    return dead ? NEVER : r;
  };
  const cloudCall = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (!dead && within(f.throttles, f.now())) {
      log.throttled++;
      return Promise.reject(new DdaError('CLOUD_THROTTLED', `sim: RequestLimitExceeded (${what})`));
    }
    return call(fn);
  };
  const inner = world.cloud;
  const launch = async (req: LaunchRequest, signal?: AbortSignal) => {
    try {
      const r = await cloudCall('launch', async () => {
        const first = await inner.launch(req, signal);
        if (!req.repeat && f.duplicateLaunchRate > 0 && f.duplicateLaunchRate > f.rand()) {
          const { onAttempt: _skip, ...again } = req;
          const twin = await inner.launch(again, signal).catch(() => null);
          if (twin) log.twins.add(twin.instanceId);
        }
        return first;
      });
      log.onLaunchOutcome(req.pool, null);
      return r;
    } catch (e) {
      if (isDdaError(e) && e.code === 'CLOUD_THROTTLED') log.onLaunchOutcome(req.pool, f.now());
      throw e;
    }
  };
  const cloud: CloudProvider = {
    kind: inner.kind,
    launch,
    describe: (signal) => {
      if (!dead && within(f.describeOutages, f.now())) {
        log.blind++;
        return Promise.reject(new DdaError('CLOUD_UNAVAILABLE', 'sim: DescribeInstances answered 503'));
      }
      return cloudCall('describe', () => inner.describe(signal));
    },
    startAgent: (id, name, pool, signal) => cloudCall('startAgent', () => inner.startAgent(id, name, pool, signal)),
    drainAgent: (id, stop, signal) => cloudCall('drainAgent', () => inner.drainAgent(id, stop, signal)),
    terminate: (id, signal) => cloudCall('terminate', () => inner.terminate(id, signal)),
    ...(inner.park ? { park: (id: string, signal?: AbortSignal) => cloudCall('park', () => inner.park!(id, signal)) } : {}),
    ...(inner.unpark ? { unpark: (id: string, signal?: AbortSignal) => cloudCall('unpark', () => inner.unpark!(id, signal)) } : {}),
  };
  const src = world.source;
  const source: QueueSource = {
    kind: src.kind,
    drainStyle: src.drainStyle,
    probe: (signal) => call(() => src.probe(signal)),
    poll: (signal) => call(() => src.poll(signal)),
    drainAgent: (agent, signal) => call(() => src.drainAgent(agent, signal)),
    forgetAgent: (agent, signal) => call(() => src.forgetAgent(agent, signal)),
  };
  return {
    source,
    cloud,
    kill: () => {
      dead = true;
    },
  };
}
