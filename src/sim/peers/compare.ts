import type { Config } from '../../config/config.js';
import { waitStats } from '../report.js';
import type { TraceJob } from '../trace.js';
import { peakAgents, peerPolicy, type PeerSpec } from './index.js';
import { runPolicy } from './runner.js';

/** One policy's cost and wait on the replayed traffic. */
export interface PeerRow {
  label: string;
  /** What the operator pays: compute plus disks, USD. */
  cost_usd: number;
  wait_p50_s: number;
  wait_p95_s: number;
  wait_max_s: number;
  jobs: number;
  jobs_completed: number;
}

export interface Comparison {
  rows: PeerRow[];
  /** The jobs' own run time billed per second at the pool's price: no idle agent, no boot, no wait. */
  lower_bound_usd: number;
}

/** The peers the replay's summary shows: the bench's default rows, each at its most favourable sizing for this traffic. */
export function summaryPeers(jobs: readonly TraceJob[], concurrency: number): { label: string; spec: PeerSpec }[] {
  const peak = peakAgents(jobs, concurrency);
  return [
    { label: `static pool of ${peak} (the peak)`, spec: { kind: 'static', n: peak } },
    { label: `drone-autoscaler min 0 max ${peak}`, spec: { kind: 'drone', min: 0, max: peak } },
    { label: `woodpecker-autoscaler min 0 max ${peak}`, spec: { kind: 'woodpecker', min: 0, max: peak } },
    { label: 'gocd-mesos', spec: { kind: 'gocd' } },
    { label: 'original drone-dynamic-agents', spec: { kind: 'original' } },
    { label: 'one fresh agent per job', spec: { kind: 'per-job' } },
  ];
}

/**
 * Replay the same jobs through each peer's policy on the same simulated CI server and cloud
 * (same seed, billing, price and boot times) as our daemon's run. One pool only: the peers
 * size one undivided pool. Each run takes well under a second on the bundled trace.
 */
export async function comparePeers(o: { jobs: readonly TraceJob[]; start: number; end: number; config: Config; seed: number; onPeer?: (label: string) => void }): Promise<Comparison> {
  const pool = o.config.pools[0]!;
  const billing = o.config.planner.billing;
  const { bootSeconds: _gone, ...cloud } = o.config.simulatedCloud;
  const rows: PeerRow[] = [];
  for (const p of summaryPeers(o.jobs, pool.concurrency)) {
    o.onPeer?.(p.label);
    const world = await runPolicy({ policy: peerPolicy(p.spec, pool.concurrency), jobs: o.jobs, start: o.start, end: o.end, pool, billing, seed: o.seed, pricePerHour: pool.pricePerHour, world: cloud });
    const s = world.stats;
    const { wait_p50_s, wait_p95_s, wait_max_s } = waitStats(s.waitsMs);
    rows.push({ label: p.label, cost_usd: r2(r2(s.costUsd) + r2(s.storageUsd)), wait_p50_s, wait_p95_s, wait_max_s, jobs: s.jobs, jobs_completed: s.completed });
  }
  const jobSeconds = o.jobs.reduce((n, j) => n + j.durationMs / 1000, 0);
  return { rows, lower_bound_usd: r2((jobSeconds / pool.concurrency / 3600) * pool.pricePerHour) };
}

const r2 = (n: number) => Math.round(n * 100) / 100;
