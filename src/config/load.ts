import { readFileSync } from 'node:fs';
import { DdaError } from '../domain/errors.js';
import { parseConfig, type Config } from './config.js';

/** Read a JSON settings file (pools, planner, lifecycle, runtime); absent file → defaults. */
export function loadConfigFile(path: string | undefined): Config {
  if (!path) return parseConfig({});
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
  return parseConfig(json, path);
}

/** Apply the simulator's command-line knobs on top of a config. */
export function withOverrides(cfg: Config, o: { billing?: string; idleGrace?: number; concurrency?: number; warmBuffer?: number; max?: number }): Config {
  const c = structuredClone(cfg);
  if (o.billing !== undefined) {
    if (o.billing === 'hourly') c.planner.billing = { periodSeconds: 3600, minimumSeconds: 3600 };
    else if (o.billing === 'per-second') c.planner.billing = { periodSeconds: 1, minimumSeconds: 60 };
    else throw new DdaError('USAGE', `--billing must be per-second or hourly, not "${o.billing}"`);
  }
  if (o.idleGrace !== undefined) c.planner.idleGraceSeconds = o.idleGrace;
  if (o.warmBuffer !== undefined) c.planner.warmBuffer = o.warmBuffer;
  for (const p of c.pools) {
    if (o.concurrency !== undefined) p.concurrency = o.concurrency;
    if (o.max !== undefined) p.max = o.max;
  }
  return parseConfig(c);
}
