import type { Policy } from './types.js';

/** N agents always on: launched at the start, replaced if one disappears, never scaled. */
export function staticPolicy(n: number): Policy {
  return {
    name: `static N=${n}`,
    periodMs: 60_000,
    floor: n,
    step: (o) => ({ launch: Math.max(0, n - o.fleet.length) }),
  };
}
