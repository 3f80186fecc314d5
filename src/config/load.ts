import { readFileSync } from 'node:fs';
import { DdaError } from '../domain/errors.js';
import { parseConfig, type Config } from './config.js';

/**
 * Read a JSON settings file (pools, planner, lifecycle, runtime, simulatedCloud); no file →
 * defaults. A file must hold an object: `null` or `[]` is a mistake, not a request for defaults.
 */
export function loadConfigFile(path: string | undefined): Config {
  if (!path) return parseConfig({});
  const origin = `config file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DdaError('CONFIG_INVALID', `cannot read config ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DdaError('CONFIG_INVALID', `config ${path} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    const held = json === null ? 'null' : Array.isArray(json) ? 'a list' : `a ${typeof json}`;
    throw new DdaError('CONFIG_INVALID', `${origin}: holds ${held}; it must hold a JSON object such as {"pools": [{"name": "default"}]} (every key optional)`);
  }
  return parseConfig(json, origin);
}

/**
 * Apply the simulator's command-line knobs on top of a config. The command line has checked each
 * knob's form (commander's choices and argParser); the config schema checks the result.
 */
export function withOverrides(
  cfg: Config,
  o: { billing?: 'per-second' | 'hourly'; idleGrace?: number; concurrency?: number; warmBuffer?: number; max?: number; fleetMax?: number; budget?: number; warmPool?: number | 'auto'; waitTarget?: number },
): Config {
  const c = structuredClone(cfg);
  if (o.billing === 'hourly') c.planner.billing = { periodSeconds: 3600, minimumSeconds: 3600 };
  if (o.billing === 'per-second') c.planner.billing = { periodSeconds: 1, minimumSeconds: 60 };
  if (o.idleGrace !== undefined) c.planner.idleGraceSeconds = o.idleGrace;
  if (o.warmBuffer !== undefined) c.planner.warmBuffer = o.warmBuffer;
  if (o.fleetMax !== undefined) c.planner.maxInstances = o.fleetMax;
  // No budget (Infinity) is a command-line choice the file format cannot hold: checked as the
  // largest budget, set after.
  const noBudget = o.budget === Infinity;
  if (o.budget !== undefined) c.planner.budgetPerHour = noBudget ? Number.MAX_VALUE : o.budget;
  for (const p of c.pools) {
    if (o.concurrency !== undefined) p.concurrency = o.concurrency;
    if (o.max !== undefined) p.max = o.max;
    if (o.warmPool !== undefined && p.warmPool) p.warmPool.size = o.warmPool;
    if (o.waitTarget !== undefined && p.warmPool) p.warmPool.waitTargetSeconds = o.waitTarget;
  }
  const parsed = parseConfig(c);
  if (noBudget) parsed.planner.budgetPerHour = Infinity;
  return parsed;
}
