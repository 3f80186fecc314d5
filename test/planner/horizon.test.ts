import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import type { PoolSpec, WarmPoolSpec } from '../../src/domain/pool.js';
import { emptyHistory, recordArrivals, type ArrivalHistory } from '../../src/planner/arrivals.js';
import { planHorizon } from '../../src/planner/horizon.js';
import { plan } from '../../src/planner/plan.js';
import type { InstanceView, PlannerSettings, PlanSettings, World } from '../../src/planner/types.js';
import { assertProperty, HANG_GUARD_MS, HANG_TIMEOUT_MS } from '../helpers/property.js';
import { briefs, HOURLY, inst, pending, planner, pool, runningOn, S, T0 } from './fixtures.js';

const H = 3_600_000;
const busy = (n: number) => inst(n, 'busy');
const boot = (n: number) => inst(n, 'booting', { cancellable: true });
const registered = (n: number) => inst(n, 'booting', { cancellable: false });
const warmOf = (w: Record<string, unknown>): WarmPoolSpec => parseConfig({ pools: [{ name: 'default', warmPool: w }] }).pools[0]!.warmPool!;

/** Every hour of the last week watched, with `perHour` arrivals in each. */
function history(perHour: number, now: number): ArrivalHistory {
  let h = emptyHistory();
  for (let t = now - 7 * 24 * H; t < now; t += H) h = recordArrivals(h, t, t + H, perHour > 0 ? { default: perHour } : {});
  return h;
}

/** The same history after quiet polls every `everyMs` from `since` up to `to`: the watched time a replay counts. */
function watched(h: ArrivalHistory, since: number, to: number, everyMs: number): { arrivals: ArrivalHistory; at: number } {
  let at = since;
  for (; at + everyMs <= to; at += everyMs) h = recordArrivals(h, at, at + everyMs, {});
  return { arrivals: h, at };
}

interface Row {
  what: string;
  instances: InstanceView[];
  pendingStages?: number;
  world?: Partial<World>;
  planner?: Partial<PlannerSettings>;
  pool?: Partial<PoolSpec>;
  perHour?: number;
  /** The horizon, from NOW (ms); -Infinity: cannot say. */
  horizon: number;
}

const NOW = T0 + 10 * H + 20 * 60_000;
const onAgents = (instances: InstanceView[]) => instances.filter((i) => i.phase === 'busy').map((i) => runningOn(i.instanceId!));
const NEXT_HOUR = T0 + 11 * H - NOW;

describe('planHorizon: until when the plan decides what it decides now, while the queue and the fleet stay as they are', () => {
  it.each([
    { what: 'every agent busy, nothing pending', instances: [busy(1), busy(2)], horizon: Infinity },
    { what: 'a boot for each pending stage', instances: [busy(1), boot(2), boot(3)], pendingStages: 2, horizon: Infinity },
    { what: 'a boot beyond demand: the odds at this hour may cancel it', instances: [busy(1), boot(2)], horizon: -Infinity },
    { what: 'a boot beyond demand, billed by the hour: never cancelled', instances: [busy(1), boot(2)], planner: { billing: HOURLY }, horizon: Infinity },
    { what: 'a registered boot beyond demand: not cancellable', instances: [busy(1), registered(2)], horizon: Infinity },
    { what: 'an idle agent, grace rule: its grace ends', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - 600 * S, idleSince: NOW - 5 * S })], planner: { idleRule: 'grace' }, horizon: 15 * S },
    { what: 'an idle agent, grace rule, within the billing minimum: the minimum ends', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - 30 * S, idleSince: NOW - 25 * S })], planner: { idleRule: 'grace' }, horizon: 30 * S },
    { what: 'an idle agent needed (a stage pending): nothing falls due', instances: [busy(1), inst(2, 'idle', { idleSince: NOW - 5 * S })], pendingStages: 1, planner: { idleRule: 'grace' }, horizon: Infinity },
    { what: 'an idle agent, odds well above keeping: the longest keep ends first', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - H, idleSince: NOW - 100 * S })], perHour: 200, horizon: 500 * S },
    { what: 'an idle agent, odds near keeping: they fall below it before the keep ends', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - H, idleSince: NOW - 100 * S })], perHour: 40.5, horizon: 315 * S },
    { what: 'an idle agent, too little history: until the hour is watched long enough', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - H, idleSince: NOW - 5 * S })], world: { arrivals: emptyHistory() }, planner: { idleGraceSeconds: 3600 }, horizon: 40 * 60_000 },
    { what: 'an idle agent, billed by the hour: its renewal window opens', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - 30 * 60_000 })], planner: { billing: HOURLY }, horizon: 25 * 60_000 },
    { what: 'an idle agent, billed by the hour, renewed: its period ends', instances: [busy(1), inst(2, 'idle', { launchedAt: NOW - 58 * 60_000, paidUntil: NOW + 62 * 60_000 })], pendingStages: 1, planner: { billing: HOURLY }, horizon: 2 * 60_000 },
    { what: 'a warm pool of 1, parked: until its disk would outweigh priming, were it a surplus (asked again then)', instances: [busy(1), inst(2, 'parked', { launchedAt: NOW - H, since: NOW - 10 * 60_000 })], pool: { warmPool: warmOf({ size: 1 }) }, horizon: 67 * 60_000 + 33 * S + 750 },
    { what: 'a warm pool of 1, a parked one too many: kept until its disk outweighs priming', instances: [busy(1), inst(2, 'parked', { since: NOW - 10 * 60_000 }), inst(3, 'parked', { since: NOW - 20 * 60_000 })], pool: { warmPool: warmOf({ size: 1 }) }, horizon: 57 * 60_000 + 33 * S + 750 },
    { what: "a warm pool 'auto': until the half hour (the next hour looked ahead to)", instances: [busy(1)], pool: { warmPool: warmOf({ size: 'auto' }) }, perHour: 6, horizon: 10 * 60_000 },
    { what: 'a warm pool on a schedule: until a minute turns, now or a priming time ahead', instances: [busy(1)], pool: { warmPool: warmOf({ size: 0, schedule: [{ days: 'mon-fri', from: '09:00', to: '17:00', size: 2 }] }) }, horizon: 30 * S },
    { what: 'a parked instance near its age limit: until it is too old', instances: [busy(1), inst(2, 'parked', { launchedAt: NOW - 7 * 24 * H + 5 * 60_000, since: NOW - 60_000 })], pool: { warmPool: warmOf({ size: 1 }) }, horizon: 5 * 60_000 },
    { what: 'the queue unknown: blind holds count the time', instances: [busy(1)], world: { queue: { known: false, since: T0, error: 'SOURCE_HTTP: 503' } }, horizon: -Infinity },
    { what: 'the cloud unknown', instances: [busy(1)], world: { cloud: { known: false, since: T0, error: 'CLOUD_UNAVAILABLE' } }, horizon: -Infinity },
    { what: 'stopping', instances: [busy(1)], world: { mode: 'stopping' }, horizon: -Infinity },
    { what: 'settling after a start: until it ends', instances: [busy(1)], world: { settling: { until: NOW + 60 * S, graceMs: 120 * S } }, horizon: 60 * S },
    { what: 'settled', instances: [busy(1)], world: { settling: { until: NOW - S, graceMs: 120 * S } }, horizon: Infinity },
    { what: 'after a launch failure: backoff', instances: [busy(1)], world: { launchFailures: { default: { count: 1, lastAt: NOW - S, reason: 'x' } } }, horizon: -Infinity },
    { what: 'a lost launch', instances: [busy(1)], world: { launchesUnknown: { default: { until: NOW + S, reason: 'x', keys: ['k9'] } } }, horizon: -Infinity },
  ] as Row[])('$what', (r) => {
    const instances = r.instances;
    const stages = [...onAgents(instances), ...pending(r.pendingStages ?? 0)];
    const settings: PlanSettings = { pools: [pool({ max: 8, ...r.pool })], planner: planner({ idleRule: 'expected-cost', ...r.planner }) };
    const world: World = { now: NOW, mode: 'running', queue: { known: true, at: NOW, stages }, instances, arrivals: history(r.perHour ?? 0, NOW), ...r.world };
    const h = planHorizon(world, settings);
    expect(h === Infinity || h === -Infinity ? h : h - NOW).toBe(r.horizon);
    if (h <= NOW) return;
    // What it claims: just before it, quiet polls later, the plan decides the same.
    const before = Math.min(h - 1, NOW + 30 * 24 * H, NOW + NEXT_HOUR - 1);
    const later = world.arrivals ? watched(world.arrivals, NOW, before, 5 * S) : null;
    expect(briefs(plan({ ...world, now: before, ...(later ? { arrivals: later.arrivals, queue: { known: true, at: later.at, stages } } : {}) }, settings))).toEqual(briefs(plan(world, settings)));
  });
});

/** A random world for the planner: a few instances in any steady phase, a history, knobs. */
const worldArb = fc
  .record({
    minutes: fc.integer({ min: 0, max: 59 }),
    phases: fc.array(fc.constantFrom('busy', 'idle', 'parked', 'cancellable', 'booting', 'draining') as fc.Arbitrary<string>, { maxLength: 5 }),
    ages: fc.array(fc.integer({ min: 0, max: 4 * 3600 }), { minLength: 5, maxLength: 5 }),
    idleFor: fc.array(fc.integer({ min: 0, max: 1900 }), { minLength: 5, maxLength: 5 }),
    pendingStages: fc.integer({ min: 0, max: 2 }),
    historyDays: fc.integer({ min: 0, max: 20 }),
    perHour: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 24, maxLength: 24 }),
    openMs: fc.integer({ min: 0, max: 40 * 60_000 }),
    hourly: fc.boolean(),
    idleRule: fc.constantFrom('expected-cost', 'grace') as fc.Arbitrary<PlannerSettings['idleRule']>,
    idleGraceSeconds: fc.constantFrom(20, 300, 1800),
    bootSeconds: fc.option(fc.integer({ min: 30, max: 240 }), { nil: undefined }),
    warm: fc.option(
      fc.record({
        size: fc.constantFrom(0, 1, 2, 'auto') as fc.Arbitrary<number | 'auto'>,
        waitTargetSeconds: fc.constantFrom(30, 60),
        maxAgeSeconds: fc.constantFrom(3600, 7200, 7 * 86_400),
        storageUsdPerGbMonth: fc.constantFrom(0.08, 8),
        schedule: fc.boolean(),
      }),
      { nil: undefined },
    ),
  })
  .map((r) => {
    const now = T0 + 20 * 24 * H + 9 * H + r.minutes * 60_000 + 1234;
    const instances = r.phases.map((p, n) =>
      p === 'cancellable'
        ? inst(n + 1, 'booting', { cancellable: true, launchedAt: now - 40 * S })
        : inst(n + 1, p as InstanceView['phase'], { launchedAt: now - r.ages[n]! * S, ...(p === 'idle' ? { idleSince: now - Math.min(r.idleFor[n]!, r.ages[n]!) * S } : {}), ...(p === 'parked' ? { since: now - Math.min(r.idleFor[n]! * 4, r.ages[n]!) * S } : {}) }),
    );
    // The history: `historyDays` days, each hour with its arrivals; this hour watched for `openMs` so far.
    let arrivals = emptyHistory();
    const hourStart = now - (now % H);
    for (let t = hourStart - r.historyDays * 24 * H; t < hourStart; t += H) arrivals = recordArrivals(arrivals, t, t + H, r.perHour[(t / H) % 24]! > 0 ? { default: r.perHour[(t / H) % 24]! } : {});
    const since = hourStart + Math.min(r.openMs, now - hourStart);
    if (since > hourStart) arrivals = recordArrivals(arrivals, hourStart, since, {});
    const stages = [...onAgents(instances), ...pending(r.pendingStages)];
    const warmPool = r.warm ? warmOf({ size: r.warm.size, waitTargetSeconds: r.warm.waitTargetSeconds, maxAgeSeconds: r.warm.maxAgeSeconds, storageUsdPerGbMonth: r.warm.storageUsdPerGbMonth, ...(r.warm.schedule ? { schedule: [{ days: 'daily', from: '09:30', to: '11:00', size: 2 }] } : {}) }) : undefined;
    const settings: PlanSettings = { pools: [pool({ max: 6, ...(warmPool ? { warmPool } : {}) })], planner: planner({ billing: r.hourly ? HOURLY : { periodSeconds: 1, minimumSeconds: 60 }, idleRule: r.idleRule, idleGraceSeconds: r.idleGraceSeconds }) };
    const world: World = { now, mode: 'running', queue: { known: true, at: since, stages }, instances, arrivals, ...(r.bootSeconds !== undefined ? { bootSeconds: r.bootSeconds } : {}) };
    return { world, settings };
  });

describe('planHorizon, on random worlds', () => {
  it('the plan at any instant before the horizon, after the quiet polls up to it, decides what it decides now', { timeout: HANG_TIMEOUT_MS }, async () => {
    const seen = { steady: 0, finite: 0, changedAfter: 0 };
    await assertProperty(
      fc.property(worldArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), ({ world, settings }, fractions) => {
        const h = planHorizon(world, settings);
        if (h <= world.now) return;
        seen.steady++;
        const queue = world.queue as Extract<World['queue'], { known: true }>;
        const now = briefs(plan(world, settings));
        // Up to a day ahead: Infinity means no time changes it, a day of polls is proof enough.
        const end = Math.min(h, world.now + 24 * H);
        const times = [...fractions.map((f) => Math.min(world.now + f * (end - world.now), end - 1)), end - 1].filter((t) => t >= world.now).sort((a, b) => a - b);
        let arrivals = world.arrivals!;
        let at = queue.at;
        for (const t of times) {
          const w = watched(arrivals, at, t, 5 * S);
          arrivals = w.arrivals;
          at = w.at;
          expect(briefs(plan({ ...world, now: t, arrivals, queue: { ...queue, at } }, settings)), `at +${Math.round(t - world.now)} ms of ${h - world.now}`).toEqual(now);
        }
        if (h === Infinity) return;
        seen.finite++;
        // Not vacuous: often the plan does change once the horizon is passed.
        const w = watched(arrivals, at, h + 5 * S, 5 * S);
        if (JSON.stringify(briefs(plan({ ...world, now: h + 5 * S, arrivals: w.arrivals, queue: { ...queue, at: w.at } }, settings))) !== JSON.stringify(now)) seen.changedAfter++;
      }),
      { numRuns: 300, timeLimitMs: HANG_GUARD_MS },
    );
    console.log(`planHorizon: ${seen.steady} worlds steady for a while, ${seen.finite} with a finite horizon, ${seen.changedAfter} of them planning otherwise just after it`);
    expect(seen.steady).toBeGreaterThan(50);
    expect(seen.changedAfter).toBeGreaterThan(10);
  });
});
