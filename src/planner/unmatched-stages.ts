import { demandKey } from '../domain/pool.js';
import type { Stage } from '../ports/queue-source.js';
import { hold } from './decide.js';
import type { Decision } from './types.js';

/** Unmatched stages: work no pool can serve is said once per round (with up to three of its demands), never dropped silently. */
export function unmatchedStages(unmatched: readonly Stage[]): Decision[] {
  if (unmatched.length === 0) return [];
  const kinds = [...new Set(unmatched.map((s) => JSON.stringify(s.demand)))].slice(0, 3).join(' ');
  return [hold('*', 'unmatched-stages', `${unmatched.length} stage(s) match no pool: ${kinds}`)];
}
