import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { TraceJob } from '../../src/sim/trace.js';
import { droneAutoscaler, gocdMesos, originalDda, perJob, runPolicy, staticPolicy, woodpeckerAutoscaler, type Policy } from '../../src/sim/peers/index.js';
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
  const world = await runPolicy({ policy, jobs, start, end, pool, billing: BILLING[billing], seed: 7, pricePerHour: 0.17, onStep: (w, now) => sampler.sample(w, now) });
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

describe('one fresh agent per job, checked by hand', () => {
  // Boot fixed at 90 s, agent start 5 s (the bench's), the runner's agent starter looks every
  // 5 s while anything boots, polls at 0, 15, 30 … s; $3.60/h so that a billed second is $0.001.
  //   j1 (300 s) and j2 (30 s) arrive at 10 s; j3 (20 s) at 125 s.
  //   poll 15 s: 2 waiting, 0 fresh → launch I1, I2 at 15 s; both booted at 15 + 90 = 105 s,
  //     the starter (15 + 5k s) starts their agents at 105 s, running at 110 s:
  //     j1 → I1, j2 → I2 at 110 s (waits 100 s, 100 s); both drained then (single-use).
  //   poll 135 s: j3 waiting, no fresh instance → launch I3 at 135 s; booted 225 s, agent 230 s:
  //     j3 starts at 230 s (wait 105 s).
  //   j2 ends at 140 s → I2 terminated at 140 s, although j3 waits (a reused agent would have
  //     started it at 140 s); j3 ends at 250 s → I3 at 250 s; j1 ends at 410 s → I1 at 410 s.
  //   billed: I1 410 − 15 = 395 s, I2 140 − 15 = 125 s, I3 250 − 135 = 115 s (all above the 60 s
  //     minimum) = 635 s = $0.635; 3 launches, at most 3 alive (135–140 s).
  const S = 1000;
  const hand: TraceJob[] = [
    { id: 'j1', buildId: 'b1', createdAt: T0 + 10 * S, durationMs: 300 * S, demand: DEFAULT_DEMAND },
    { id: 'j2', buildId: 'b1', createdAt: T0 + 10 * S, durationMs: 30 * S, demand: DEFAULT_DEMAND },
    { id: 'j3', buildId: 'b2', createdAt: T0 + 125 * S, durationMs: 20 * S, demand: DEFAULT_DEMAND },
  ];

  it('costs and waits what the arithmetic says', async () => {
    const world = await runPolicy({
      policy: perJob({ concurrency: 1 }),
      jobs: hand,
      start: T0,
      end: T0 + 600 * S,
      pool,
      billing: BILLING.second,
      seed: 7,
      pricePerHour: 3.6,
      world: { vmStartSeconds: [0, 0], bootstrapSeconds: [90, 90], agentStartSeconds: 5 },
    });
    expect(world.stats.completed).toBe(3);
    expect(world.stats.waitsMs).toEqual([100 * S, 100 * S, 105 * S]);
    expect(world.stats.instanceMs).toBe(635 * S);
    expect(world.stats.costUsd).toBeCloseTo(0.635, 9);
    expect(world.stats.launches).toBe(3);
    expect(world.stats.peakInstances).toBe(3);
    expect(world.liveInstances).toBe(0);
  });

  it('terminates fresh instances beyond the waiting jobs at its next poll, newest first', () => {
    const p = perJob({ concurrency: 1 });
    const inst = (id: string, launchedAt: number) => ({ instanceId: id, key: id, pool: 'default', state: 'running' as const, instanceType: 't', market: 'on-demand' as const, pricePerHour: 0.17, launchedAt, registered: true, agent: 'running' as const, draining: false });
    const fleet = [inst('old', T0), inst('newest', T0 + 20 * S), inst('mid', T0 + 10 * S)];
    expect(p.step({ now: T0 + 30 * S, pending: 1, running: 0, stages: [], fleet, busy: new Map() })).toEqual({ drain: [], terminate: ['mid', 'newest'], launch: 0 });
    expect(p.step({ now: T0 + 45 * S, pending: 3, running: 0, stages: [], fleet: [fleet[0]!], busy: new Map() })).toEqual({ drain: [], terminate: [], launch: 2 });
    // 'old' takes a job and ends it between two polls (no event seen): at the poll it is ended
    // as used, not counted as a fresh instance covering a waiting job.
    expect(p.onJobEvent!({ now: T0 + 50 * S, pending: 2, running: 1, stages: [], fleet: [fleet[0]!], busy: new Map([['old', 1]]) })).toEqual({ drain: ['old'], terminate: [] });
    expect(p.step({ now: T0 + 60 * S, pending: 2, running: 0, stages: [], fleet: [fleet[0]!], busy: new Map() })).toEqual({ drain: [], terminate: ['old'], launch: 2 });
  });
});
