import type { Clock } from '../domain/clock.js';
import { isDdaError } from '../domain/errors.js';
import type { PoolSpec } from '../domain/pool.js';
import { matchPools } from '../planner/match-pools.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource, QueueSnapshot } from '../ports/queue-source.js';
import type { DaemonMetrics } from './metrics.js';

/**
 * Metrics as decorators around the ports: the daemon and the interpreter see the same port,
 * and every call through it is timed and its failures counted by method and error code. The
 * code is the DdaError code (a short, stable word), never the message: messages may name
 * hosts or carry what a server said.
 */

const codeOf = (e: unknown): string => (isDdaError(e) ? e.code : 'UNEXPECTED');

async function timed<T>(clock: Clock, call: () => Promise<T>, done: (seconds: number, errorCode?: string) => void): Promise<T> {
  const t0 = clock.now();
  try {
    const r = await call();
    done((clock.now() - t0) / 1000);
    return r;
  } catch (e) {
    done((clock.now() - t0) / 1000, codeOf(e));
    throw e;
  }
}

/**
 * The queue source, metered: poll latency and errors, and from what the polls show, how long
 * each stage waited for an agent (counted once, when a poll first shows it taken) and the
 * stages no pool can serve.
 */
export function meterQueueSource(source: QueueSource, metrics: DaemonMetrics, o: { clock: Clock; pools: readonly PoolSpec[] }): QueueSource {
  let taken = new Set<string>();
  let unmatched = new Set<string>();
  const watch = (snap: QueueSnapshot) => {
    const { byPool, unmatched: lost } = matchPools(snap.stages, o.pools);
    const nowTaken = new Set<string>();
    for (const [pool, stages] of byPool) {
      for (const s of stages) {
        if (s.status !== 'running' && !s.agent) continue;
        nowTaken.add(s.id);
        if (!taken.has(s.id)) metrics.jobWaited(pool, ((s.startedAt ?? snap.at) - s.createdAt) / 1000);
      }
    }
    // Only stages still in the queue are remembered: the sets stay as small as the queue.
    taken = nowTaken;
    const nowLost = new Set(lost.map((s) => s.id));
    let fresh = 0;
    for (const id of nowLost) if (!unmatched.has(id)) fresh++;
    if (fresh > 0) metrics.unmatchedSeen(fresh);
    unmatched = nowLost;
  };
  return {
    kind: source.kind,
    drainStyle: source.drainStyle,
    probe: (signal) => source.probe(signal),
    poll: async (signal) => {
      const snap = await timed(o.clock, () => source.poll(signal), (s, code) => metrics.queuePolled(source.kind, s, code));
      watch(snap);
      return snap;
    },
    drainAgent: (name, signal) => source.drainAgent(name, signal),
    ...(source.restartBuild ? { restartBuild: source.restartBuild.bind(source) } : {}),
    forgetAgent: (name, signal) => source.forgetAgent(name, signal),
  };
}

/** The cloud provider, metered: every call's latency and errors by method. */
export function meterCloudProvider(cloud: CloudProvider, metrics: DaemonMetrics, o: { clock: Clock }): CloudProvider {
  const m = <T>(method: string, call: () => Promise<T>): Promise<T> => timed(o.clock, call, (s, code) => metrics.cloudCalled(cloud.kind, method, s, code));
  const { park, unpark, reapOrphans } = cloud;
  return {
    kind: cloud.kind,
    launch: (req, signal) => m('launch', () => cloud.launch(req, signal)),
    describe: (signal) => m('describe', () => cloud.describe(signal)),
    startAgent: (id, name, pool, signal) => m('startAgent', () => cloud.startAgent(id, name, pool, signal)),
    drainAgent: (id, stop, signal) => m('drainAgent', () => cloud.drainAgent(id, stop, signal)),
    terminate: (id, signal) => m('terminate', () => cloud.terminate(id, signal)),
    // Optional methods stay optional: a provider without a warm pool must still look like one.
    ...(park ? { park: (id: string, signal?: AbortSignal) => m('park', () => park.call(cloud, id, signal)) } : {}),
    ...(unpark ? { unpark: (id: string, signal?: AbortSignal) => m('unpark', () => unpark.call(cloud, id, signal)) } : {}),
    ...(reapOrphans ? { reapOrphans: (signal?: AbortSignal, opts?: Parameters<typeof reapOrphans>[1]) => m('reapOrphans', () => reapOrphans.call(cloud, signal, opts)) } : {}),
  };
}
