import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { TraceJob } from '../../src/sim/trace.js';
import { oursConfig, runWindow, type PolicySpec, type RunSpec } from '../../bench/scenario.js';

const T0 = Date.parse('2024-03-04T00:00:00Z');
const M = 60_000;
/** Two ten-minute jobs an hour apart: the first has nothing warm to start on; the second, with a pool of 1, has. */
const jobs: TraceJob[] = [
  { id: 'j1', buildId: 'b1', createdAt: T0 + 30 * M, durationMs: 10 * M, demand: DEFAULT_DEMAND },
  { id: 'j2', buildId: 'b2', createdAt: T0 + 90 * M, durationMs: 10 * M, demand: DEFAULT_DEMAND },
];
const window = { jobs, start: T0, end: T0 + 3 * 60 * M };
const spec = (policy: PolicySpec): RunSpec => ({ id: 'x', label: 'x', group: 'default', policy, concurrency: 1, billing: 'second', trace: 'synthetic', seed: 3, price: 0.17, busyDay: null });

describe('ours + warm pool in the bench', () => {
  it('maps the spec onto every pool’s warm pool', () => {
    expect(oursConfig({ kind: 'ours', warmPool: 'auto', waitTargetSeconds: 45 }, 2, 'hour', 0.2).pools.map((p) => [p.warmPool.size, p.warmPool.waitTargetSeconds, p.concurrency])).toEqual([['auto', 45, 2]]);
    expect(oursConfig({ kind: 'ours', warmPool: 3 }, 1, 'second', 0.17).pools[0]!.warmPool.size).toBe(3);
    expect(oursConfig({ kind: 'ours' }, 1, 'second', 0.17).pools[0]!.warmPool.size).toBe(0);
  });

  it('a warm pool of 1 starts the second job sooner than no warm pool, and its disk is paid for', async () => {
    const cold = await runWindow(spec({ kind: 'ours' }), window);
    const warm = await runWindow(spec({ kind: 'ours', warmPool: 1 }), window);
    expect(cold.metrics.jobs_completed).toBe(2);
    expect(warm.metrics.jobs_completed).toBe(2);
    // Cold: a VM start (20–30 s) and a bootstrap (40–90 s) for each job; warm: a start (15–25 s)
    // and a reconnect (5–15 s) from the parked instance primed before the jobs came.
    expect(cold.metrics.warm_starts).toBe(0);
    expect(warm.metrics.warm_starts).toBeGreaterThanOrEqual(1);
    expect(cold.metrics.wait_max_s).toBeGreaterThanOrEqual(60);
    expect(warm.metrics.wait_max_s).toBeLessThan(cold.metrics.wait_p50_s);
    // The parked disk is paid for, and the bench's cost is compute plus storage.
    expect(warm.metrics.storage_usd).toBeGreaterThan(cold.metrics.storage_usd);
    for (const m of [cold.metrics, warm.metrics]) expect(m.cost_usd).toBeCloseTo(m.compute_usd + m.storage_usd, 9);
    expect(warm.metrics.cost_usd).toBeGreaterThan(warm.metrics.compute_usd);
  }, 30_000);
});
