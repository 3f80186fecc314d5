import type { TraceJob } from '../trace.js';
import { droneAutoscaler } from './drone-autoscaler.js';
import { gocdMesos } from './gocd-mesos.js';
import { originalDda } from './original-dda.js';
import { perJob } from './per-job.js';
import { staticPolicy } from './static.js';
import type { Policy } from './types.js';
import { woodpeckerAutoscaler } from './woodpecker-autoscaler.js';

/*
 * The other autoscalers' policies, modelled from their published code, run on the same
 * simulated CI server and cloud as our daemon: the embedded replay's summary sets them beside
 * ours, and `npm run bench` (bench/, not shipped) draws its tables from them.
 */
export type { Actions, Observation, Policy } from './types.js';
export { runPolicy, type PolicyRunOptions } from './runner.js';
export { droneAutoscaler, gocdMesos, originalDda, perJob, staticPolicy, woodpeckerAutoscaler };

/** A peer's policy and its knobs, as the bench and the replay's summary name them. */
export type PeerSpec =
  | { kind: 'static'; n: number }
  | { kind: 'drone'; min: number; max: number }
  | { kind: 'woodpecker'; min: number; max: number }
  | { kind: 'gocd' }
  | { kind: 'original' }
  | { kind: 'per-job' };

export function peerPolicy(p: PeerSpec, concurrency: number): Policy {
  switch (p.kind) {
    case 'static':
      return staticPolicy(p.n);
    case 'drone':
      return droneAutoscaler({ min: p.min, max: p.max, concurrency });
    case 'woodpecker':
      return woodpeckerAutoscaler({ min: p.min, max: p.max, concurrency });
    case 'gocd':
      return gocdMesos();
    case 'original':
      return originalDda();
    case 'per-job':
      return perJob({ concurrency });
  }
}

/** Peak agents the trace would need if every job started on arrival. */
export function peakAgents(jobs: readonly TraceJob[], concurrency: number): number {
  const ev: [number, number][] = [];
  for (const j of jobs) ev.push([j.createdAt, 1], [j.createdAt + j.durationMs, -1]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let peak = 0;
  for (const [, d] of ev) peak = Math.max(peak, (n += d));
  return Math.ceil(peak / concurrency);
}
