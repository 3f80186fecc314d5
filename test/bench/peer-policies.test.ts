import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { TraceJob } from '../../src/sim/trace.js';
import { droneAutoscaler } from '../../bench/policies/drone-autoscaler.js';
import { gocdMesos } from '../../bench/policies/gocd-mesos.js';
import { originalDda } from '../../bench/policies/original-dda.js';
import { perJob } from '../../bench/policies/per-job.js';
import { staticPolicy } from '../../bench/policies/static.js';
import type { Policy } from '../../bench/policies/types.js';
import { woodpeckerAutoscaler } from '../../bench/policies/woodpecker-autoscaler.js';
import { runPolicy } from '../../bench/policy-runner.js';
import { Sampler } from '../../bench/sampler.js';
import { BILLING, peakAgents } from '../../bench/scenario.js';
import type { SimWorld } from '../../src/sim/sim-world.js';
import { simulate } from '../../src/sim/simulate.js';

/** Two days: bursts of 3 twenty-minute jobs, a quiet night, a bigger burst, then nothing. */
const T0 = Date.parse('2024-03-04T00:00:00Z');
const H = 3_600_000;
const jobs: TraceJob[] = [];
const burst = (at: number, n: number, minutes: number) => {
  for (let k = 0; k < n; k++) jobs.push({ id: `j${jobs.length}`, buildId: `b${at}`, createdAt: at, durationMs: minutes * 60_000, demand: DEFAULT_DEMAND });
};
burst(T0 + 9 * H, 3, 20);
burst(T0 + 9.5 * H, 3, 20);
burst(T0 + 14 * H, 6, 30);
burst(T0 + 30 * H, 3, 20);
const start = T0;
const end = T0 + 2 * 24 * H;
const pool = parseConfig({ pools: [{ name: 'default', concurrency: 1 }] }).pools[0]!;

/** Runs a policy and records the fleet size after every instant. */
async function run(policy: Policy, billing: 'second' | 'hour' = 'second'): Promise<{ world: SimWorld; fleet: number[]; sampler: Sampler }> {
  const fleet: number[] = [];
  const sampler = new Sampler(null);
  const orig = sampler.sample.bind(sampler);
  sampler.sample = (w, now) => {
    fleet.push(w.liveInstances);
    orig(w, now);
  };
  const world = await runPolicy({ policy, jobs, start, end, pool, billing: BILLING[billing], seed: 7, pricePerHour: 0.17, sampler });
  return { world, fleet, sampler };
}

const jobHours = jobs.reduce((s, j) => s + j.durationMs, 0) / H;
const lowerBound = jobHours * 0.17;

describe('peer policies on a tiny synthetic trace', () => {
  it('finds the peak the static N=peak policy is sized to', () => {
    expect(peakAgents(jobs, 1)).toBe(6);
    expect(peakAgents(jobs, 2)).toBe(3);
  });

  it('drone-autoscaler: once at its minimum it never scales below it, and never passes its maximum', async () => {
    const { world, fleet } = await run(droneAutoscaler({ min: 2, max: 4, concurrency: 1 }));
    expect(world.stats.completed).toBe(jobs.length);
    const reachedMin = fleet.findIndex((n) => n >= 2);
    expect(reachedMin).toBeGreaterThanOrEqual(0);
    expect(Math.min(...fleet.slice(reachedMin))).toBeGreaterThanOrEqual(2);
    expect(Math.max(...fleet)).toBeLessThanOrEqual(4);
  });

  it('gocd-mesos never scales down, and launches at most one agent per 6 polls', async () => {
    const { world, fleet } = await run(gocdMesos());
    for (let k = 1; k < fleet.length; k++) expect(fleet[k]!).toBeGreaterThanOrEqual(fleet[k - 1]!);
    expect(world.stats.completed).toBe(jobs.length);
    expect(world.stats.launches).toBeLessThanOrEqual(Math.ceil((end - start) / (12 * 60_000)));
  });

  it('the original drone-dynamic-agents never runs more than one node', async () => {
    const { fleet, world } = await run(originalDda());
    expect(Math.max(...fleet)).toBe(1);
    expect(world.stats.completed).toBe(jobs.length);
  });

  it('woodpecker-autoscaler with min 0 ends at zero; one fresh agent per job launches one instance per job', async () => {
    const wp = await run(woodpeckerAutoscaler({ min: 0, max: 6, concurrency: 1 }));
    expect(wp.world.liveInstances).toBe(0);
    const pj = await run(perJob({ concurrency: 1 }));
    expect(pj.world.stats.launches).toBe(jobs.length);
    expect(pj.world.stats.completed).toBe(jobs.length);
  });

  it('the lower bound is at most every policy’s cost, per-second and hourly', async () => {
    const policies = [staticPolicy(1), staticPolicy(6), droneAutoscaler({ min: 0, max: 6, concurrency: 1 }), woodpeckerAutoscaler({ min: 1, max: 6, concurrency: 1 }), gocdMesos(), originalDda(), perJob({ concurrency: 1 })];
    for (const billing of ['second', 'hour'] as const) {
      for (const p of policies) {
        const { world } = await run(p, billing);
        expect(world.stats.costUsd, `${p.name} ${billing}`).toBeGreaterThanOrEqual(lowerBound);
      }
    }
  }, 30_000);

  it('the lower bound is at most our own policy’s cost too', async () => {
    for (const billing of ['second', 'hour'] as const) {
      const config = parseConfig({ planner: { billing: BILLING[billing] } });
      const { world } = await simulate({ jobs, start, end, config, world: { seed: 7, pricePerHour: 0.17 } });
      expect(world.stats.completed).toBe(jobs.length);
      expect(world.stats.costUsd, billing).toBeGreaterThanOrEqual(lowerBound);
    }
  }, 30_000);
});
