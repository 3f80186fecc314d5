import { describe, expect, it } from 'vitest';
import { xstateFloor } from '../../bench/xstate-floor.js';
import { fourteenDayTrace } from '../helpers/traces.js';

/**
 * The floor bench counts the events the real actors process in a replay and prices them at
 * XState's own cost per event. Timings are the bench's to report, not a test's: this checks that
 * every kind of event is counted and that the floor is their priced sum, scaled by jobs.
 */
describe('bench: XState floor of a replay', () => {
  it('counts instance events, reports and other supervisor events, and prices them', async () => {
    const { path } = fourteenDayTrace();
    const r = await xstateFloor({ trace: path, days: 3, jobs: 1_000_000, n: 2000 });
    expect(r.jobs).toBeGreaterThan(0);
    const { instance, supervisor_view, supervisor_other, per_job } = r.events;
    // An instance reports each transition: as many reports as transitions, about, and each job moves one instance or more.
    expect(instance).toBeGreaterThanOrEqual(r.jobs);
    expect(supervisor_view).toBeGreaterThanOrEqual(r.jobs);
    expect(supervisor_other).toBeGreaterThan(0);
    expect(per_job).toBeCloseTo((instance + supervisor_view + supervisor_other) / r.jobs, 1);
    for (const us of Object.values(r.us_per_event)) expect(us).toBeGreaterThan(0);
    const c = r.us_per_event;
    const seconds = ((instance * c.instance_transition + supervisor_view * c.supervisor_view + supervisor_other * c.supervisor_other) / 1e6) * (1_000_000 / r.jobs);
    expect(r.jobs_scaled_to).toBe(1_000_000);
    expect(r.floor_s).toBe(Math.round(seconds));
  });
});
