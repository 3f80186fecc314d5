/**
 * The arrivals the daemon has seen, by hour, over the last days: what the planner judges an
 * idle agent's chances by (by hour of the day, over the last `HOUR_OF_DAY_DAYS`) and sizes the
 * warm pool by (by hour of the week, over the whole ring). A ring of `days × 24` slots; each
 * slot holds, per pool, the stages that arrived in that hour of that day and how long the queue
 * was watched then (blind time is not counted as quiet time). With the default 28 days each of
 * the week's 168 hours has four samples. Pure; the supervisor keeps it in its context.
 */
export interface ArrivalHistory {
  readonly days: number;
  /** Indexed by (day mod days) × 24 + hour; `day` says which day a slot holds now. */
  readonly slots: readonly ArrivalSlot[];
  /**
   * Watched time not yet written into its slot: quiet polls only add to this, so a poll with
   * no arrival copies nothing (a replay polls every few seconds for months).
   */
  readonly open?: { readonly index: number; readonly day: number; readonly watchedMs: number };
}

export interface ArrivalSlot {
  readonly day: number;
  readonly watchedMs: number;
  readonly arrived: Readonly<Record<string, number>>;
  /** The most stages that arrived at once (in one poll), per pool: a build's fan-out. */
  readonly peak: Readonly<Record<string, number>>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The hour-of-day rate (the idle rule's odds) looks back this many days at most. */
export const HOUR_OF_DAY_DAYS = 14;

export function emptyHistory(days = 28): ArrivalHistory {
  return { days, slots: Array.from({ length: days * 24 }, () => ({ day: -1, watchedMs: 0, arrived: {}, peak: {} })) };
}

/**
 * The queue was watched from `from` to `to` and these stages arrived (per pool) in between.
 * Counted in the hour `to` falls in: a poll period is a few seconds, an hour is 3,600.
 */
export function recordArrivals(h: ArrivalHistory, from: number, to: number, arrivedByPool: Readonly<Record<string, number>>): ArrivalHistory {
  if (to <= from) return h;
  const day = Math.floor(to / DAY);
  const i = (day % h.days) * 24 + Math.floor((to % DAY) / HOUR);
  const arrivedAny = Object.values(arrivedByPool).some((n) => n > 0);
  const open = h.open;
  if (!arrivedAny && (!open || (open.index === i && open.day === day))) return { days: h.days, slots: h.slots, open: { index: i, day, watchedMs: (open?.watchedMs ?? 0) + (to - from) } };
  const slots = h.slots.slice();
  if (open) slots[open.index] = addTo(slots[open.index]!, open.day, open.watchedMs, {});
  if (!arrivedAny) return { days: h.days, slots, open: { index: i, day, watchedMs: to - from } };
  slots[i] = addTo(slots[i]!, day, to - from, arrivedByPool);
  return { days: h.days, slots };
}

function addTo(old: ArrivalSlot, day: number, watchedMs: number, arrivedByPool: Readonly<Record<string, number>>): ArrivalSlot {
  const fresh = old.day === day ? old : { day, watchedMs: 0, arrived: {}, peak: {} };
  let arrived = fresh.arrived;
  let peak = fresh.peak;
  for (const [pool, n] of Object.entries(arrivedByPool)) {
    if (n <= 0) continue;
    arrived = { ...arrived, [pool]: (arrived[pool] ?? 0) + n };
    if (n > (peak[pool] ?? 0)) peak = { ...peak, [pool]: n };
  }
  return { day, watchedMs: fresh.watchedMs + watchedMs, arrived, peak };
}

export interface ArrivalRate {
  perSecond: number;
  watchedMs: number;
  peak: number;
}

/**
 * Stages per second arriving for `pool` in the hour of the day `now` falls in, over the last
 * `HOUR_OF_DAY_DAYS` recorded days (today's hour so far included), and how long that hour was
 * watched in all.
 */
export function arrivalRate(h: ArrivalHistory, pool: string, now: number): ArrivalRate {
  const today = Math.floor(now / DAY);
  const days: number[] = [];
  for (let d = 0; d < Math.min(h.days, HOUR_OF_DAY_DAYS); d++) days.push(today - d);
  return rateOver(h, pool, now, days);
}

/**
 * The same for the hour of the week `now` falls in (Monday 14:00 UTC apart from Saturday
 * 14:00), over every week the ring holds: weekends and weekdays differ in most CI workloads.
 */
export function weeklyArrivalRate(h: ArrivalHistory, pool: string, now: number): ArrivalRate {
  const today = Math.floor(now / DAY);
  const days: number[] = [];
  for (let d = 0; d < h.days; d += 7) days.push(today - d);
  return rateOver(h, pool, now, days);
}

/** Summed over the slots of `now`'s hour on these days (each still holding its own day). */
function rateOver(h: ArrivalHistory, pool: string, now: number, days: readonly number[]): ArrivalRate {
  const hour = Math.floor((now % DAY) / HOUR);
  let watchedMs = 0;
  let arrived = 0;
  let peak = 0;
  for (const day of days) {
    if (day < 0) continue;
    const s = h.slots[(day % h.days) * 24 + hour]!;
    if (s.day !== day) continue;
    watchedMs += s.watchedMs;
    arrived += s.arrived[pool] ?? 0;
    peak = Math.max(peak, s.peak[pool] ?? 0);
  }
  // The open time's slot holds its day or one `days` earlier, not one of these: no double count.
  const open = h.open;
  if (open && open.index % 24 === hour && days.includes(open.day)) watchedMs += open.watchedMs;
  return { perSecond: watchedMs > 0 ? arrived / (watchedMs / 1000) : 0, watchedMs, peak };
}

/**
 * While nothing arrives, a rate only falls: each poll adds watched time, at most as much as the
 * time since the last poll recorded (`since`). The earliest instant at which a rate now
 * `rate.perSecond` over `rate.watchedMs` could be at or below `limit`; Infinity if it never
 * moves there (it is there already, and stays; or the limit is below any rate with arrivals).
 * Rounded down: an answer early is safe, one late is not.
 */
export function fallsTo(rate: Pick<ArrivalRate, 'perSecond' | 'watchedMs'>, limit: number, since: number): number {
  if (rate.perSecond <= limit || limit <= 0) return Infinity;
  return Math.floor(since + (rate.perSecond / limit - 1) * rate.watchedMs);
}

/** The earliest instant at which `watchedMs` could reach `enough` (the same growth); Infinity once it has. */
export function watchedReaches(watchedMs: number, enough: number, since: number): number {
  return watchedMs >= enough ? Infinity : since + (enough - watchedMs);
}

/** The next hour boundary after `t` (UTC): where the hour-of-day and hour-of-week rates read other slots. */
export const nextHour = (t: number): number => (Math.floor(t / HOUR) + 1) * HOUR;
