import type { WarmPoolSpec, WarmWindow } from '../domain/pool.js';

/**
 * The warm pool's schedule override: in a window (days of the week, a time of day, a time zone)
 * the pool keeps the window's size, whatever 'auto' or the fixed size would say. Pure: the
 * local time comes from the tz database through `Intl`, the instant from the injected clock.
 */

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * The weekdays a `days` spec names, Monday 0 … Sunday 6: a comma list of days and ranges
 * ("mon-fri", "sat,sun", "mon,wed-fri", "fri-mon" wraps), or "daily"; null if it is not one.
 */
export function parseDays(spec: string): ReadonlySet<number> | null {
  const s = spec.trim().toLowerCase();
  if (s === 'daily' || s === 'mon-sun') return new Set([0, 1, 2, 3, 4, 5, 6]);
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^\s*([a-z]{3})\s*(?:-\s*([a-z]{3})\s*)?$/.exec(part);
    if (!m) return null;
    const a = DAY_NAMES.indexOf(m[1] as (typeof DAY_NAMES)[number]);
    const b = m[2] === undefined ? a : DAY_NAMES.indexOf(m[2] as (typeof DAY_NAMES)[number]);
    if (a < 0 || b < 0) return null;
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  }
  return out;
}

/** Minutes since midnight of "HH:MM" (24:00 allowed, for a window to the end of the day); null if it is not one. */
export function parseClock(hhmm: string): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return null;
  return h * 60 + min;
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The weekday (Monday 0) and minute of the day at `at` in `tz`. */
export function localTime(at: number, tz: string): { weekday: number; minute: number } {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(tz, f);
  }
  let weekday = 0;
  let minute = 0;
  for (const p of f.formatToParts(at)) {
    if (p.type === 'weekday') weekday = DAY_NAMES.indexOf(p.value.toLowerCase() as (typeof DAY_NAMES)[number]);
    else if (p.type === 'hour') minute += Number(p.value) * 60;
    else if (p.type === 'minute') minute += Number(p.value);
  }
  return { weekday, minute };
}

/**
 * Whether `at` falls in the window. A window whose `to` is not after its `from` runs past
 * midnight into the next day ("fri 22:00-06:00" holds Saturday 03:00): its days name the day it
 * opens on.
 */
export function inWindow(win: WarmWindow, at: number): boolean {
  const days = parseDays(win.days);
  const from = parseClock(win.from);
  const to = parseClock(win.to);
  if (!days || from === null || to === null) return false;
  const { weekday, minute } = localTime(at, win.timezone ?? 'UTC');
  if (from < to) return days.has(weekday) && minute >= from && minute < to;
  return (days.has(weekday) && minute >= from) || (days.has((weekday + 6) % 7) && minute < to);
}

export function describeWindow(win: WarmWindow): string {
  return `schedule ${win.days} ${win.from}-${win.to} ${win.timezone ?? 'UTC'}`;
}

/**
 * The window that applies at `now`, if any: the first listed that holds `now`, or that will
 * within `leadMs` (priming takes a cold boot and a park; a window from 08:00 means parked
 * instances ready at 08:00).
 */
export function scheduledSize(w: Pick<WarmPoolSpec, 'schedule' | 'min' | 'max'>, now: number, leadMs: number): { target: number; why: string } | null {
  for (const win of w.schedule ?? []) {
    if (!inWindow(win, now) && !inWindow(win, now + leadMs)) continue;
    const target = Math.min(w.max, Math.max(w.min, win.size));
    return { target, why: `${describeWindow(win)}: ${win.size}${target !== win.size ? ` (within min ${w.min}, max ${w.max})` : ''}` };
  }
  return null;
}
