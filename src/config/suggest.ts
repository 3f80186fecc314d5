import { closest, distance } from 'fastest-levenshtein';

/**
 * The known name nearest to `name`, when it is near enough to be a typo of it: at most two
 * edits, or one in five characters for long names (`idleGracSeconds` → `idleGraceSeconds`,
 * `DRONE_SERVR_HOST` → `DRONE_SERVER_HOST`). Case is ignored, as a typo in case is a typo.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const upper = known.map((k) => k.toUpperCase());
  const guess = closest(name.toUpperCase(), upper);
  const within = Math.max(2, Math.floor(name.length / 5));
  return distance(name.toUpperCase(), guess) <= within ? known[upper.indexOf(guess)] : undefined;
}
