import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DdaError } from '../../src/domain/errors.js';
import { clockScheduler } from '../../src/runtime/clock-scheduler.js';
import { poll$, type PollOutcome } from '../../src/runtime/poll.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

const S = 1000;

function setup(fn: (clock: VirtualClock, signal: AbortSignal) => Promise<string>, o: { retries?: number; timeoutMs?: number } = {}) {
  const clock = new VirtualClock(0);
  const out: PollOutcome<string>[] = [];
  const sub = poll$((signal) => fn(clock, signal), {
    periodMs: 10 * S,
    timeoutMs: o.timeoutMs ?? 5 * S,
    retries: o.retries ?? 2,
    retryBaseMs: S,
    scheduler: clockScheduler(clock),
    clock,
    timeoutError: () => new DdaError('SOURCE_TIMEOUT', 'timed out'),
  }).subscribe((r) => out.push(r));
  return { clock, out, sub };
}

/** A call that resolves after `ms` of virtual time. */
const after = (clock: VirtualClock, ms: number, v: string, signal?: AbortSignal) =>
  new Promise<string>((resolve, reject) => {
    const h = clock.setTimeout(() => resolve(v), ms);
    signal?.addEventListener('abort', () => {
      clock.clearTimeout(h);
      reject(new Error('aborted'));
    });
  });

describe('poll$', () => {
  it('polls at once, then every period', async () => {
    let n = 0;
    const t = setup(async () => `r${n++}`);
    await t.clock.runUntil(25 * S);
    t.sub.unsubscribe();
    expect(t.out.map((r) => (r.ok ? [r.value, r.startedAt] : null))).toEqual([
      ['r0', 0],
      ['r1', 10 * S],
      ['r2', 20 * S],
    ]);
  });

  it('retries with exponential backoff inside a cycle, then reports failure (unknown), never an empty value', async () => {
    const calls: number[] = [];
    const t = setup(async (clock) => {
      calls.push(clock.now());
      throw new DdaError('SOURCE_HTTP', '503');
    });
    await t.clock.runUntil(9 * S);
    t.sub.unsubscribe();
    expect(calls).toEqual([0, 1 * S, 3 * S]);
    expect(t.out).toHaveLength(1);
    expect(t.out[0]).toMatchObject({ ok: false, attempts: 3, startedAt: 0 });
  });

  it('times out a slow call, aborting it', async () => {
    let aborted = 0;
    const t = setup(
      (clock, signal) => {
        signal.addEventListener('abort', () => aborted++);
        return after(clock, 60 * S, 'late', signal);
      },
      { retries: 0 },
    );
    await t.clock.runUntil(6 * S);
    t.sub.unsubscribe();
    expect(t.out).toHaveLength(1);
    expect(t.out[0]!.ok).toBe(false);
    expect((t.out[0] as { error: DdaError }).error.code).toBe('SOURCE_TIMEOUT');
    expect(aborted).toBe(1);
  });

  it('never overlaps polls: a slow poll delays the next cycle instead of stacking', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const t = setup(
      async (clock) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          return await after(clock, 14 * S, 'slow');
        } finally {
          inFlight--;
        }
      },
      { timeoutMs: 30 * S },
    );
    await t.clock.runUntil(60 * S);
    t.sub.unsubscribe();
    expect(maxInFlight).toBe(1);
    expect(t.out.length).toBeGreaterThanOrEqual(2);
  });
});

describe('VirtualClock', () => {
  it('fires timers in time order, then creation order', async () => {
    const c = new VirtualClock(100);
    const seen: string[] = [];
    c.setTimeout(() => seen.push('b'), 20);
    c.setTimeout(() => seen.push('a'), 10);
    c.setTimeout(() => seen.push('c'), 20);
    const h = c.setTimeout(() => seen.push('x'), 15);
    c.clearTimeout(h);
    await c.runUntil(1000);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(c.now()).toBe(1000);
  });
});

describe('poll$ on a skipping clock: the polls it dropped', () => {
  // Every answer repeats; the quiet lasts until 30 s, and a plain timer at 21 s kicks a poll
  // between two firings of the interval (as a drain that took effect does).
  async function run(kickAt: number | null) {
    const clock = new VirtualClock(0);
    const out: PollOutcome<string>[] = [];
    const kick = new Subject<void>();
    const sub = poll$(async () => 'same', {
      periodMs: 2 * S,
      timeoutMs: 5 * S,
      retries: 0,
      retryBaseMs: S,
      scheduler: clockScheduler(clock),
      clock,
      timeoutError: () => new DdaError('SOURCE_TIMEOUT', 'timed out'),
      abortable: false,
      kick,
      repeats: () => true,
    }).subscribe((r) => out.push(r));
    if (kickAt !== null) clock.setTimeout(() => kick.next(), kickAt);
    await clock.runUntil(25 * S, () => false, () => (clock.now() < 30 * S ? 30 * S : -Infinity));
    sub.unsubscribe();
    return out.map((r) => (r.ok ? { at: r.startedAt, ...(r.repeated ? { repeated: r.repeated } : {}) } : { failed: r.startedAt }));
  }

  it('a kicked poll answers for the firings dropped before it: how many, how often, the last when', async () => {
    // (The quiet goes on after it: the firings at 22 and 24 s are dropped too.)
    expect(await run(21 * S)).toEqual([{ at: 0 }, { at: 21 * S, repeated: { polls: 10, everyMs: 2 * S, lastAt: 20 * S } }]);
  });

  it('without a kick, the next firing of the interval does', async () => {
    const out = await run(null);
    expect(out[0]).toEqual({ at: 0 });
    // The quiet holds to 30 s: the run ends at 25 s with every firing after the first dropped and not yet told.
    expect(out).toHaveLength(1);
  });
});
