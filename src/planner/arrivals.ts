/**
 * The arrivals the daemon has seen, by hour of the day, over the last days: what the planner
 * judges an idle agent's chances by. A ring of `days × 24` slots; each slot holds, per pool,
 * the stages that arrived in that hour of that day and how long the queue was watched then
 * (blind time is not counted as quiet time). Pure; the supervisor keeps it in its context.
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

export function emptyHistory(days = 14): ArrivalHistory {
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

/**
 * Stages per second arriving for `pool` in the hour of the day `now` falls in, over the
 * recorded days (today's hour so far included), and how long that hour was watched in all.
 */
export function arrivalRate(h: ArrivalHistory, pool: string, now: number): { perSecond: number; watchedMs: number; peak: number } {
  const today = Math.floor(now / DAY);
  const hour = Math.floor((now % DAY) / HOUR);
  let watchedMs = 0;
  let arrived = 0;
  let peak = 0;
  const inWindow = (day: number) => day >= 0 && day <= today && day > today - h.days;
  for (let d = 0; d < h.days; d++) {
    const s = h.slots[d * 24 + hour]!;
    if (!inWindow(s.day)) continue;
    watchedMs += s.watchedMs;
    arrived += s.arrived[pool] ?? 0;
    peak = Math.max(peak, s.peak[pool] ?? 0);
  }
  // The open time's slot holds its day or one `days` earlier, out of the window: no double count.
  const open = h.open;
  if (open && open.index % 24 === hour && inWindow(open.day)) watchedMs += open.watchedMs;
  return { perSecond: watchedMs > 0 ? arrived / (watchedMs / 1000) : 0, watchedMs, peak };
}
