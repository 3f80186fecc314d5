import { describe, expect, it } from 'vitest';
import { within } from '../../src/domain/clock.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

describe('within: work raced against a deadline on the injected clock', () => {
  it('settled in time: its value, and the deadline never fires', async () => {
    const clock = new VirtualClock(0);
    let fired = false;
    expect(await within(clock, Promise.resolve('done'), 1000, 'late', () => (fired = true))).toBe('done');
    await clock.runUntil(5000);
    expect(fired).toBe(false);
  });

  it('not settled by the deadline: the fallback, after onTimeout', async () => {
    const clock = new VirtualClock(0);
    let fired = false;
    const r = within(clock, new Promise(() => {}), 1000, 'late', () => (fired = true));
    await clock.runUntil(1000);
    expect(await r).toBe('late');
    expect(fired).toBe(true);
  });

  it('a rejection passes through', async () => {
    const clock = new VirtualClock(0);
    await expect(within(clock, Promise.reject(new Error('boom')), 1000, 'late')).rejects.toThrow('boom');
  });
});
