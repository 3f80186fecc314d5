import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

/**
 * Periodic timers (re-armed by their own firing) at unrelated periods, one plain timer (the
 * world's next change), and a quiet bound: skipping must drop exactly the firings before the
 * bound and the plain timer, tell each timer how many it missed, and leave every firing from
 * there on at the same instant and in the same order as a run that fired them all.
 */
function run(periods: Record<string, number>, plainAt: number, quietUntil: number | null, until: number, firstPeriods: Record<string, number> = {}, tellsPeriod: boolean | readonly string[] = false) {
  const clock = new VirtualClock(0);
  const fired: string[] = [];
  const missed: Record<string, number> = {};
  const arm = (name: string, period: number, delay: number) =>
    clock.setTimeout(
      () => {
        fired.push(`${clock.now()} ${name}`);
        arm(name, periods[name]!, periods[name]!);
      },
      delay,
      { periodMs: period, onSkip: (n) => (missed[name] = (missed[name] ?? 0) + n), ...(tellsPeriod === true || (Array.isArray(tellsPeriod) && tellsPeriod.includes(name)) ? { periodNow: () => periods[name]! } : {}) },
    );
  // Each starts as the daemon's polls do: at once or after a first delay, then every period. A
  // poll re-armed before it took in what it found may keep an older period for one firing.
  for (const [name, p] of Object.entries(periods)) {
    const first = firstPeriods[name] ?? p;
    arm(name, first, name === 'tick' ? p : first === p ? 0 : first);
  }
  // Once the world changed, the next firings may change something: nothing is quiet any more.
  let changed = false;
  clock.setTimeout(() => {
    changed = true;
    fired.push(`${clock.now()} world`);
  }, plainAt);
  const quiet = quietUntil === null ? undefined : () => (!changed && clock.now() < quietUntil ? quietUntil : -Infinity);
  return clock.runUntil(until, () => false, quiet).then(() => ({ fired, missed }));
}

const cases: { name: string; periods: Record<string, number>; plainAt: number; quiet: number; firstPeriods?: Record<string, number>; tells?: string[] }[] = [
  { name: 'queue 2 s, fleet 5 s, tick 30 s; the world changes at 97 s', periods: { queue: 2000, fleet: 5000, tick: 30000 }, plainAt: 97_000, quiet: 200_000 },
  { name: 'the quiet bound comes before the world changes', periods: { queue: 2000, fleet: 1000, tick: 30000 }, plainAt: 500_000, quiet: 61_500 },
  { name: 'periods with no common multiple worth having (odd milliseconds)', periods: { queue: 1999, fleet: 4999, tick: 29_989 }, plainAt: 250_000, quiet: 400_000 },
  { name: 'the bound falls on a firing: that firing runs', periods: { queue: 2000, fleet: 5000, tick: 30000 }, plainAt: 600_000, quiet: 60_000 },
  { name: 'a poll armed before the quiet with its old period: it fires once, then keeps the new one', periods: { queue: 2000, fleet: 5000, tick: 30000 }, firstPeriods: { queue: 10_000 }, plainAt: 97_000, quiet: 200_000 },
  // The fleet poll and the tick fire together every 30 s; only the polls say their period, so
  // the tick fires once more before anything is dropped: they must still fire in their order.
  { name: 'two timers in step, only one says its period', periods: { queue: 2000, fleet: 30000, tick: 30000 }, tells: ['queue', 'fleet'], plainAt: 250_000, quiet: 400_000 },
];

describe('VirtualClock: quiet periodic firings are skipped', () => {
  it.each(cases.flatMap((c) => (c.tells ? [{ ...c, tellsPeriod: c.tells as boolean | readonly string[] }] : [{ ...c, tellsPeriod: false as boolean | readonly string[] }, { ...c, tellsPeriod: true as boolean | readonly string[], name: `${c.name}; each says the period it would choose now` }])))('$name', async (c) => {
    const until = 700_000;
    const all = await run(c.periods, c.plainAt, null, until, c.firstPeriods);
    const skipped = await run(c.periods, c.plainAt, c.quiet, until, c.firstPeriods, c.tellsPeriod);
    const bound = Math.min(c.quiet, c.plainAt);
    const at = (line: string) => Number(line.split(' ')[0]);
    // From the bound on, the same firings at the same instants in the same order.
    expect(skipped.fired.filter((l) => at(l) >= bound)).toEqual(all.fired.filter((l) => at(l) >= bound));
    // Before it, a few: a timer armed before the quiet that does not say its period now fires
    // once more, and the others fire with it at that instant (nothing is dropped past it).
    const before = skipped.fired.filter((l) => at(l) < bound);
    const timers = Object.keys(c.periods).length;
    expect(before.filter((l) => at(l) > 0).length).toBeLessThanOrEqual(c.tellsPeriod === true && !c.firstPeriods ? 0 : 2 * timers);
    // Each timer heard of exactly the firings it missed.
    for (const name of Object.keys(c.periods)) {
      const dropped = all.fired.filter((l) => l.endsWith(` ${name}`) && at(l) < bound).length - before.filter((l) => l.endsWith(` ${name}`)).length;
      expect(skipped.missed[name] ?? 0, name).toBe(dropped);
    }
    expect(skipped.fired.length).toBeLessThan(all.fired.length);
  });
});

describe('VirtualClock: a poll with news', () => {
  // The world changes at 97 s in a way only the fleet poll sees: the quiet holds (the
  // supervisor has not seen it), and the fleet poll has news until it fires.
  const periods: Record<string, number> = { queue: 2000, fleet: 5000, tick: 30000 };
  async function run(skip: boolean) {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const missed: Record<string, number> = {};
    let changed = false;
    let seen = false;
    const news: Record<string, () => boolean> = { queue: () => false, fleet: () => changed && !seen };
    const arm = (name: string, delay: number): void => {
      clock.setTimeout(
        () => {
          fired.push(`${clock.now()} ${name}`);
          if (name === 'fleet' && changed) seen = true;
          arm(name, periods[name]!);
        },
        delay,
        { periodMs: periods[name]!, onSkip: (n) => (missed[name] = (missed[name] ?? 0) + n), periodNow: () => periods[name]!, ...(news[name] ? { news: news[name] } : {}) },
      );
    };
    for (const name of Object.keys(periods)) arm(name, name === 'tick' ? periods[name]! : 0);
    clock.setTimeout(() => {
      changed = true;
      fired.push(`${clock.now()} world`);
    }, 97_000);
    await clock.runUntil(400_000, () => false, skip ? () => (clock.now() < 200_000 ? 200_000 : -Infinity) : undefined);
    return { fired, missed };
  }
  const at = (line: string) => Number(line.split(' ')[0]);

  it('fires at its time, as in a run that fires everything; the quiet firings around it are dropped', async () => {
    const all = await run(false);
    const skipped = await run(true);
    const seen = all.fired.find((l) => l.endsWith(' fleet') && at(l) >= 97_000)!;
    expect(seen).toBe('100000 fleet');
    // The same firings at that instant, in the same order; none between the change and it.
    expect(skipped.fired.filter((l) => at(l) === 100_000)).toEqual(all.fired.filter((l) => at(l) === 100_000));
    expect(skipped.fired.filter((l) => at(l) > 97_000 && at(l) < 100_000)).toEqual([]);
    expect(all.fired.filter((l) => at(l) > 97_000 && at(l) < 100_000)).toEqual(['98000 queue']);
    // From the quiet bound on, every firing as in the full run; each timer heard what it missed.
    expect(skipped.fired.filter((l) => at(l) >= 200_000)).toEqual(all.fired.filter((l) => at(l) >= 200_000));
    for (const name of Object.keys(periods)) {
      const count = (f: string[]) => f.filter((l) => l.endsWith(` ${name}`) && at(l) < 200_000).length;
      expect(skipped.missed[name] ?? 0, name).toBe(count(all.fired) - count(skipped.fired));
    }
  });
});

describe('VirtualClock: a quiet that ends with the time alone', () => {
  // Steady until 60 s by the time alone (a renewal falling due): no timer says so. The poll
  // that fires there re-arms with the period it had, then what it saw changes the period it
  // wants (as a decision after a queue poll does); the next quiet must not take that re-arming
  // for one chosen in the quiet: it fires once more and takes the new period.
  async function run(skip: boolean) {
    const clock = new VirtualClock(0);
    const periods: Record<string, number> = { queue: 2000, tick: 30000 };
    const fired: string[] = [];
    const missed: Record<string, number> = {};
    let decided = false;
    const arm = (name: string, delay: number): void => {
      clock.setTimeout(
        () => {
          fired.push(`${clock.now()} ${name}`);
          arm(name, periods[name]!);
          if (name === 'queue' && clock.now() >= 60_000 && !decided) [decided, periods.queue] = [true, 10_000];
        },
        delay,
        { periodMs: periods[name]!, onSkip: (n) => (missed[name] = (missed[name] ?? 0) + n), periodNow: () => periods[name]! },
      );
    };
    arm('queue', 0);
    arm('tick', 30000);
    const quiet = () => (clock.now() < 60_000 ? 60_000 : clock.now() < 200_000 ? 200_000 : -Infinity);
    await clock.runUntil(300_000, () => false, skip ? quiet : undefined);
    return { fired, missed };
  }
  const at = (line: string) => Number(line.split(' ')[0]);

  it('the firings after the quiet are where a run that fires everything has them', async () => {
    const all = await run(false);
    const skipped = await run(true);
    expect(all.fired.filter((l) => at(l) > 60_000 && at(l) < 80_000)).toEqual(['62000 queue', '72000 queue']);
    expect(skipped.fired.filter((l) => at(l) >= 200_000)).toEqual(all.fired.filter((l) => at(l) >= 200_000));
    expect(skipped.fired.filter((l) => at(l) > 60_000 && at(l) < 200_000)).toEqual(['62000 queue']);
    const count = (f: string[], name: string) => f.filter((l) => l.endsWith(` ${name}`) && at(l) < 200_000).length;
    for (const name of ['queue', 'tick']) expect(skipped.missed[name] ?? 0, name).toBe(count(all.fired, name) - count(skipped.fired, name));
  });
});

describe('VirtualClock: periodic and plain timers fire as one order', () => {
  // They are kept apart (a skip moves only the periodic ones), and must still fire in (time,
  // creation) order, cancelled ones of either kind firing nothing.
  it('same instant: in the order they were made, whichever kind', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const plain = (name: string, ms: number) => clock.setTimeout(() => fired.push(`${clock.now()} ${name}`), ms);
    const periodic = (name: string, ms: number) => clock.setTimeout(() => fired.push(`${clock.now()} ${name}`), ms, { periodMs: ms });
    periodic('p1', 10);
    plain('a1', 10);
    periodic('p2', 10);
    plain('a2', 10);
    const gone = plain('cancelled', 5);
    const gone2 = periodic('cancelled periodic', 5);
    plain('a3', 7);
    periodic('p3', 3);
    clock.clearTimeout(gone);
    clock.clearTimeout(gone2);
    expect(clock.pending).toBe(8);
    await clock.runUntil(100);
    expect(fired).toEqual(['3 p3', '7 a3', '10 p1', '10 a1', '10 p2', '10 a2']);
    expect(clock.pending).toBe(0);
  });
});
