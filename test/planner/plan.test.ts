import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { plan } from '../../src/planner/plan.js';
import { billedSeconds, paidPeriodEnd } from '../../src/planner/billing.js';
import type { Decision, InstanceView, World } from '../../src/planner/types.js';
import type { Stage } from '../../src/ports/queue-source.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;

const cfg = (over: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) =>
  parseConfig({ pools: [{ name: 'default', max: 4, ...pool }], planner: { maxInstances: 10, budgetPerHour: 10, ...over } });

const pending = (n: number, demand = DEFAULT_DEMAND): Stage[] => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, status: 'pending', demand, createdAt: T0 }));
const runningOn = (agent: string, id = `r-${agent}`): Stage => ({ id, status: 'running', demand: DEFAULT_DEMAND, agent, createdAt: T0, startedAt: T0 });

let seq = 0;
const inst = (phase: InstanceView['phase'], over: Partial<InstanceView> = {}): InstanceView => {
  const n = ++seq;
  return { key: `k${n}`, pool: 'default', phase, cancellable: false, instanceId: phase === 'requested' ? null : `i-${n}`, launchedAt: T0, idleSince: phase === 'idle' ? T0 : null, paidUntil: null, pricePerHour: 0.17, ...over };
};

const world = (stages: Stage[] | null, instances: InstanceView[], now = T0 + 60 * S, mode: World['mode'] = 'running'): World => ({
  now,
  mode,
  queue: stages ? { known: true, at: now, stages } : { known: false, since: T0, error: 'SOURCE_HTTP: 503' },
  instances,
});

const kinds = (ds: Decision[]) => ds.map((d) => (d.kind === 'launch' ? `launch:${d.count}` : d.kind === 'hold' ? `hold:${d.code}` : `${d.kind}:${d.key}`));

describe('planner: sizing', () => {
  it('launches ceil(pending / concurrency) when empty', () => {
    expect(kinds(plan(world(pending(3), []), cfg()))).toEqual(['launch:3']);
    expect(kinds(plan(world(pending(3), []), cfg({}, { concurrency: 2 })))).toEqual(['launch:2']);
  });

  it('counts requested and booting capacity, so a slow boot is never bought twice', () => {
    const ds = plan(world(pending(3), [inst('requested'), inst('booting')]), cfg());
    expect(kinds(ds)).toEqual(['launch:1']);
    expect(ds[0]!.reason).toContain('3 pending');
  });

  it('counts stages held on our agents as demand, and ignores work on agents that are not ours', () => {
    const a = inst('busy');
    const stages = [runningOn(a.instanceId!), runningOn('static-runner-1'), ...pending(1)];
    expect(kinds(plan(world(stages, [a]), cfg()))).toEqual(['launch:1']);
  });

  it('stops at the pool max and says so', () => {
    const ds = plan(world(pending(9), []), cfg());
    expect(kinds(ds)).toEqual(['launch:4', 'hold:at-pool-max']);
    expect((ds[1] as { reason: string }).reason).toMatch(/pool at max \(4/);
  });

  it('draining instances count toward max (they still cost)', () => {
    expect(kinds(plan(world(pending(4), [inst('draining'), inst('draining')]), cfg()))).toEqual(['launch:2', 'hold:at-pool-max']);
  });

  it('respects the fleet max and the budget', () => {
    expect(kinds(plan(world(pending(4), []), cfg({ maxInstances: 1 })))).toEqual(['launch:1', 'hold:at-fleet-max']);
    expect(kinds(plan(world(pending(4), []), cfg({ budgetPerHour: 0.5 })))).toEqual(['launch:2', 'hold:over-budget']);
  });

  it('keeps the pool minimum with an empty queue', () => {
    expect(kinds(plan(world([], []), cfg({}, { min: 1 })))).toEqual(['launch:1']);
  });

  it('adds the warm buffer only while there is work', () => {
    expect(kinds(plan(world(pending(1), []), cfg({ warmBuffer: 1 })))).toEqual(['launch:2']);
    expect(kinds(plan(world([], []), cfg({ warmBuffer: 1 })))).toEqual([]);
  });

  it('reports stages no pool can serve', () => {
    const arm = { ...DEFAULT_DEMAND, arch: 'arm64' };
    const ds = plan(world(pending(2, arm), []), cfg());
    expect(kinds(ds)).toEqual(['hold:unmatched-stages']);
    expect((ds[0] as { reason: string }).reason).toContain('2 stage(s) match no pool');
  });
});

describe('planner: letting go (per-second billing)', () => {
  it('never drains a busy agent, whatever the surplus', () => {
    const ds = plan(world([], [inst('busy'), inst('busy')], T0 + 3600 * S), cfg());
    expect(ds.filter((d) => d.kind === 'drain')).toEqual([]);
  });

  it('drains an idle agent only after the idle grace', () => {
    const a = inst('idle', { idleSince: T0 });
    expect(kinds(plan(world([], [a], T0 + 60 * S), cfg({ idleGraceSeconds: 120 })))).toEqual(['hold:renewal-not-due']);
    const ds = plan(world([], [a], T0 + 121 * S), cfg({ idleGraceSeconds: 120 }));
    expect(kinds(ds)).toEqual([`drain:${a.key}`]);
    expect((ds[0] as { reason: string }).reason).toMatch(/idle 121 s/);
  });

  it('drains only the surplus, longest idle first', () => {
    const older = inst('idle', { idleSince: T0 });
    const newer = inst('idle', { idleSince: T0 + 10 * S });
    const ds = plan(world(pending(1), [newer, older], T0 + 600 * S), cfg({ idleGraceSeconds: 120 }));
    expect(kinds(ds)).toEqual([`drain:${older.key}`]);
  });

  it('does not cancel booting instances in normal operation', () => {
    expect(kinds(plan(world([], [inst('booting', { cancellable: true })], T0 + 3600 * S), cfg()))).toEqual([]);
  });
});

describe('planner: letting go (hourly billing)', () => {
  const hourly = { billing: { periodSeconds: 3600, minimumSeconds: 3600 }, renewalWindowSeconds: 300 };

  it('holds an idle agent until near the end of its paid hour, then drains it', () => {
    const a = inst('idle', { launchedAt: T0, idleSince: T0 + 60 * S });
    expect(kinds(plan(world([], [a], T0 + 1800 * S), cfg(hourly)))).toEqual(['hold:renewal-not-due']);
    expect(kinds(plan(world([], [a], T0 + 3400 * S), cfg(hourly)))).toEqual([`drain:${a.key}`]);
  });

  it('renews a needed idle agent once per period', () => {
    const a = inst('idle', { launchedAt: T0 });
    const ds = plan(world([], [a], T0 + 3400 * S), cfg(hourly, { min: 1 }));
    expect(kinds(ds)).toEqual([`renew:${a.key}`]);
    const until = (ds[0] as { until: number }).until;
    expect(until).toBe(T0 + 7200 * S);
    expect(kinds(plan(world([], [{ ...a, paidUntil: until }], T0 + 3500 * S), cfg(hourly, { min: 1 })))).toEqual([]);
  });
});

describe('planner: blindness and stopping', () => {
  it('holds everything while the queue is unknown', () => {
    const ds = plan(world(null, [inst('idle'), inst('busy')], T0 + 60 * S), cfg());
    expect(kinds(ds)).toEqual(['hold:queue-unknown']);
    expect((ds[0] as { reason: string }).reason).toContain('holding, no launch and no drain');
  });

  it('after long blindness drains idle and cancellable agents toward zero, never launches', () => {
    const idle = inst('idle');
    const boot = inst('booting', { cancellable: true });
    const ds = plan(world(null, [idle, boot, inst('busy')], T0 + 901 * S), cfg({ blindHoldSeconds: 900 }));
    expect(kinds(ds)).toEqual([`drain:${idle.key}`, `drain:${boot.key}`, 'hold:queue-unknown']);
    expect((ds[0] as { reason: string }).reason).toMatch(/queue unknown for 901 s/);
  });

  it('when stopping launches nothing and drains what is idle', () => {
    const idle = inst('idle');
    expect(kinds(plan(world(pending(5), [idle, inst('busy')], T0, 'stopping'), cfg()))).toEqual([`drain:${idle.key}`, 'hold:stopping']);
  });
});

describe('planner: launch backoff', () => {
  const failures = (count: number, lastAt = T0) => ({ default: { count, lastAt, reason: 'CLOUD_FAILED: Invalid IAM Instance Profile name' } });

  it('retries a first failure at once, then backs off exponentially with a reason', () => {
    const w = (count: number, now: number) => ({ ...world(pending(2), [], now), launchFailures: failures(count) });
    expect(kinds(plan(w(1, T0 + 15 * S), cfg()))).toEqual(['launch:2']);
    const ds = plan(w(2, T0 + 15 * S), cfg());
    expect(kinds(ds)).toEqual(['hold:launch-backoff']);
    expect((ds[0] as { reason: string }).reason).toMatch(/2 launches failed in a row \(last: CLOUD_FAILED: Invalid IAM Instance Profile name\): next try in 15 s/);
    expect(kinds(plan(w(2, T0 + 30 * S), cfg()))).toEqual(['launch:2']);
    expect(kinds(plan(w(3, T0 + 59 * S), cfg()))).toEqual(['hold:launch-backoff']);
    expect(kinds(plan(w(3, T0 + 60 * S), cfg()))).toEqual(['launch:2']);
    expect(kinds(plan(w(30, T0 + 599 * S), cfg()))).toEqual(['hold:launch-backoff']);
    expect(kinds(plan(w(30, T0 + 600 * S), cfg()))).toEqual(['launch:2']);
  });

  it('never holds back letting idle agents go', () => {
    const a = inst('idle', { idleSince: T0 });
    expect(kinds(plan({ ...world([], [a], T0 + 600 * S), launchFailures: failures(5, T0 + 590 * S) }, cfg()))).toEqual([`drain:${a.key}`]);
  });
});

describe('billing', () => {
  const perSecond = { periodSeconds: 1, minimumSeconds: 60 };
  const hourly = { periodSeconds: 3600, minimumSeconds: 3600 };
  it('per-second with a 60 s minimum', () => {
    expect(billedSeconds(10 * S, perSecond)).toBe(60);
    expect(billedSeconds(90.2 * S, perSecond)).toBe(91);
  });
  it('hourly rounds up to whole hours', () => {
    expect(billedSeconds(1 * S, hourly)).toBe(3600);
    expect(billedSeconds(3601 * S, hourly)).toBe(7200);
  });
  it('paid period end', () => {
    expect(paidPeriodEnd(T0, T0 + 10 * S, hourly)).toBe(T0 + 3600 * S);
    expect(paidPeriodEnd(T0, T0 + 3600 * S, hourly)).toBe(T0 + 7200 * S);
    expect(paidPeriodEnd(T0, T0 + 10 * S, perSecond)).toBe(T0 + 60 * S);
  });
});

describe('configuration the planner could not honour', () => {
  it('is refused at start, naming the setting', () => {
    expect(() => parseConfig({ pools: [{ name: 'a', min: 3, max: 4 }, { name: 'b', min: 2, max: 4 }], planner: { maxInstances: 4 } })).toThrow("planner.maxInstances (4) is below the pools' minimums (5)");
    expect(() => parseConfig({ pools: [{ name: 'a', min: 2, max: 4, pricePerHour: 1 }], planner: { budgetPerHour: 1.5 } })).toThrow("planner.budgetPerHour (1.5) is below what the pools' minimums cost (2.00 USD/h)");
  });
});

describe('planner: pools declaring the same demand', () => {
  it('the first pool in configuration order gets the work, as matchPools says', () => {
    const c = parseConfig({ pools: [{ name: 'first', max: 4 }, { name: 'second', max: 4 }], planner: { maxInstances: 10, budgetPerHour: 10 } });
    expect(plan(world(pending(2), []), c)).toEqual([expect.objectContaining({ kind: 'launch', pool: 'first', count: 2 })]);
  });
});
