import { DdaError } from '../domain/errors.js';

/*
 * Argument parsers for commander's `argParser`. They throw a DdaError rather than commander's
 * InvalidArgumentError so the message stays ours (`--max must be ...`), one line, exit code 2.
 * This module is imported before any command runs: keep it free of heavy imports.
 */

type Parse<T> = (flag: string) => (value: string) => T;

const numberOf = (s: string) => (s.trim() === '' ? NaN : Number(s));

/** A number ≥ 0 (seconds, for example). */
export const nonNegative: Parse<number> = (flag) => (v) => {
  const n = numberOf(v);
  if (!Number.isFinite(n) || n < 0) throw new DdaError('USAGE', `${flag} must be a non-negative number, not "${v}"`);
  return n;
};

/** A whole number ≥ 0 (a count). */
export const count: Parse<number> = (flag) => (v) => {
  const n = numberOf(v);
  if (!Number.isInteger(n) || n < 0) throw new DdaError('USAGE', `${flag} must be a non-negative integer, not "${v}"`);
  return n;
};

/** A whole number ≥ 1 (agent slots). */
export const positiveInteger: Parse<number> = (flag) => (v) => {
  const n = numberOf(v);
  if (!Number.isInteger(n) || n < 1) throw new DdaError('USAGE', `${flag} must be a positive integer, not "${v}"`);
  return n;
};

/** A number > 0. */
export const positive: Parse<number> = (flag) => (v) => {
  const n = numberOf(v);
  if (!Number.isFinite(n) || n <= 0) throw new DdaError('USAGE', `${flag} must be a positive number, not "${v}"`);
  return n;
};

/** Any whole number. */
export const integer: Parse<number> = (flag) => (v) => {
  const n = numberOf(v);
  if (!Number.isInteger(n)) throw new DdaError('USAGE', `${flag} must be an integer, not "${v}"`);
  return n;
};

/** An ISO date, as ms since the epoch. */
export const isoDate: Parse<number> = (flag) => (v) => {
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new DdaError('USAGE', `${flag} must be an ISO date like 2016-03-01 or 2016-03-01T00:00:00Z, not "${v}"`);
  return t;
};

/** USD per hour, or no budget at all: `none` or `0` (Infinity: no launch is ever held back on spend). */
export const budget: Parse<number> = (flag) => (v) => {
  if (v.trim() === 'none') return Infinity;
  const n = numberOf(v);
  if (!Number.isFinite(n) || n < 0) throw new DdaError('USAGE', `${flag} must be USD per hour (a non-negative number), or none (0 also means none), not "${v}"`);
  return n === 0 ? Infinity : n;
};

export const BILLING_MODES = ['per-second', 'hourly'] as const;
export type BillingMode = (typeof BILLING_MODES)[number];

/** A warm pool size: `auto`, or a whole number ≥ 0. */
export const warmPoolSize: Parse<number | 'auto'> = (flag) => (v) => {
  if (v.trim() === 'auto') return 'auto';
  const n = numberOf(v);
  if (!Number.isInteger(n) || n < 0) throw new DdaError('USAGE', `${flag} must be auto or a non-negative integer, not "${v}"`);
  return n;
};
