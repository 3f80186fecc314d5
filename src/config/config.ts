import { z } from 'zod';
import { DdaError } from '../domain/errors.js';
import type { Demand, PoolSpec, WarmPoolSpec, WarmWindow } from '../domain/pool.js';
import { parseClock, parseDays, validTimeZone } from '../planner/warm-schedule.js';
import type { Billing, PlannerSettings } from '../planner/types.js';
import { nearestName } from './suggest.js';

/**
 * The daemon's own settings (pools, planner knobs, lifecycle deadlines, polling). CI-server
 * and cloud settings come from the environment and belong to their adapters
 * (src/sources/<server>/settings.ts, src/cloud/aws/settings.ts), built from the blocks in env.ts.
 * Durations are seconds in configuration, milliseconds inside.
 *
 * The logic declares the types it takes (`PoolSpec`, `PlannerSettings`, `Billing`); each
 * schema here `satisfies` the type it feeds, so the file format and the logic cannot drift
 * apart without a compile error, and the logic never imports this file.
 *
 * Every object is strict: a key the schema does not know is an error naming the nearest one it
 * does (`"pool"` → `"pools"`), since a misspelled setting silently left at its default is the
 * hardest mistake to see.
 */

/** Placeholder for the dotted path of the object holding an unknown key; `parseConfig` fills it in. */
const AT = '\u0000';

/** A strict `z.object`: an unknown key is an issue whose message names the nearest known key. */
function strict<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).filter((k) => k !== 'bootSeconds');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== 'unrecognized_keys') return undefined;
      const key = iss.keys[0]!;
      const near = nearestName(key, known);
      return near ? `unknown key "${AT}${key}" — did you mean "${AT}${near}"?` : `unknown key "${AT}${key}" (known here: ${known.join(', ')})`;
    },
  });
}

const demandSchema = strict({
  os: z.string().default('linux'),
  arch: z.string().default('amd64'),
  variant: z.string().default(''),
  kernel: z.string().default(''),
  labels: z.record(z.string(), z.string()).default({}),
}) satisfies z.ZodType<Demand>;

const warmWindowSchema = strict({
  days: z.string({ error: 'must be days of the week such as "mon-fri" or "sat,sun"' }).refine((d) => parseDays(d) !== null, 'must be days of the week such as "mon-fri", "sat,sun" or "daily"'),
  from: z.string({ error: 'must be a time "HH:MM"' }).refine((t) => { const m = parseClock(t); return m !== null && m < 24 * 60; }, 'must be a time "HH:MM" (00:00 to 23:59)'),
  to: z.string({ error: 'must be a time "HH:MM"' }).refine((t) => parseClock(t) !== null, 'must be a time "HH:MM" (00:00 to 24:00)'),
  size: z.number().int().min(0),
  timezone: z.string({ error: 'must be an IANA time zone such as "Europe/Berlin"' }).refine(validTimeZone, 'must be an IANA time zone such as "Europe/Berlin"').default('UTC'),
}).refine((w) => parseClock(w.from) !== parseClock(w.to), { message: 'from and to are the same time: an empty window', path: ['to'] }) satisfies z.ZodType<WarmWindow>;

export const warmPoolSchema = strict({
  size: z.union([z.number().int().min(0), z.literal('auto')], { error: 'must be a whole number (0 or more) or "auto"' }).default(0),
  min: z.number().int().min(0).default(0),
  max: z.number().int().min(0).default(8),
  waitTargetSeconds: z.number().min(1).default(60),
  afterJob: z.enum(['park', 'terminate']).default('park'),
  maxAgeSeconds: z.number().min(60).default(7 * 86_400),
  storageGb: z.number().min(0).default(30),
  storageUsdPerGbMonth: z.number().min(0).default(0.08),
  schedule: z.array(warmWindowSchema).default([]),
  market: z.enum(['on-demand', 'spot']).default('on-demand'),
}) satisfies z.ZodType<WarmPoolSpec>;

export const poolSchema = strict({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40'),
  demand: demandSchema.default({ os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} }),
  min: z.number().int().min(0).default(0),
  max: z.number().int().min(0).default(16),
  /** Agent slots per instance (DRONE_RUNNER_CAPACITY). */
  concurrency: z.number().int().min(1).default(1),
  /** USD per hour, used for the budget before the cloud reports a real price. */
  pricePerHour: z.number().min(0).default(0.17),
  warmPool: warmPoolSchema.default(warmPoolSchema.parse({})),
}) satisfies z.ZodType<PoolSpec>;

export const billingSchema = strict({
  /** 1 for per-second billing, 3600 for hourly. */
  periodSeconds: z.number().int().min(1).default(1),
  /** Minimum billed time per instance (AWS Linux: 60 s). */
  minimumSeconds: z.number().int().min(0).default(60),
}) satisfies z.ZodType<Billing>;

export const plannerSchema = strict({
  billing: billingSchema.default({ periodSeconds: 1, minimumSeconds: 60 }),
  /** Per-second billing: let an idle agent go when keeping it costs more than the boot it may save ('expected-cost'), or after the grace ('grace'). */
  idleRule: z.enum(['expected-cost', 'grace']).default('expected-cost'),
  /** Per-second billing: an idle agent is let go after this long idle (and, with 'expected-cost', until an hour of the day has been watched). */
  idleGraceSeconds: z.number().min(0).default(20),
  /** 'expected-cost': an idle agent worth keeping is let go after this long idle all the same. */
  idleKeepMaxSeconds: z.number().min(0).default(600),
  /** 'expected-cost': what a cold boot costs, in instance-seconds, until boots have been seen. */
  expectedBootSeconds: z.number().min(0).default(90),
  /** Periodic billing: the keep/let-go decision is made this long before the paid period ends. */
  renewalWindowSeconds: z.number().min(0).default(300),
  /** Idle agents kept per pool beyond demand (within max), to absorb the next build without a cold boot. */
  warmBuffer: z.number().int().min(0).default(0),
  /** Queue unknown for this long: stop holding, drain to zero. */
  blindHoldSeconds: z.number().min(0).default(900),
  /** After repeated launch failures in a pool, wait this long before the next try (doubling each time). */
  launchBackoffSeconds: z.number().min(0).default(30),
  launchBackoffMaxSeconds: z.number().min(0).default(600),
  /** Whole fleet, all pools. */
  maxInstances: z.number().int().min(0).default(16),
  /** USD per hour, whole fleet; launches that would pass it are held. */
  budgetPerHour: z.number().min(0).default(5),
}) satisfies z.ZodType<PlannerSettings>;

export const lifecycleSchema = strict({
  launchTimeoutSeconds: z.number().min(1).default(300),
  bootTimeoutSeconds: z.number().min(1).default(600),
  /** A draining agent gets this long to finish its build before the instance is terminated. */
  drainTimeoutSeconds: z.number().min(1).default(7200),
  /** Re-issue a terminate that has not taken effect after this long. */
  terminateRetrySeconds: z.number().min(1).default(120),
  /** An instance missing from a describe is only "gone" after this long since launch (eventual consistency). */
  goneGraceSeconds: z.number().min(0).default(120),
});

export const runtimeSchema = strict({
  queuePollSeconds: z.number().min(0.1).default(10),
  /**
   * Queue poll period while a build runs on one of our agents (its end is seen at once, the
   * agent let go or reused sooner) or a parked instance waits (a new build starts sooner).
   */
  queuePollBusySeconds: z.number().min(0.1).default(2),
  fleetPollSeconds: z.number().min(0.1).default(30),
  /** Fleet poll period while an instance is launching, booting or draining: a registered instance gets its agent sooner. */
  fleetPollFastSeconds: z.number().min(0.1).default(5),
  /**
   * Fleet poll period while an instance waits for its container instance to register (a cold
   * boot, a priming, a start from parked): its agent starts at the first describe that shows the
   * registration, and until then a build waits and the instance is billed. Three cheap read
   * calls a second, well inside EC2's and ECS's read rate limits.
   */
  fleetPollRegisteringSeconds: z.number().min(0.1).default(1),
  tickSeconds: z.number().min(0.1).default(30),
  pollTimeoutSeconds: z.number().min(0.1).default(10),
  /** Retries within one poll before it counts as unknown; backoff doubles from retryBaseSeconds. */
  pollRetries: z.number().int().min(0).default(2),
  retryBaseSeconds: z.number().min(0).default(1),
  /**
   * Deadline of one command (launch, start agent, drain, terminate) or one reap: the call is
   * aborted and the instance actor told it failed. Below lifecycle.launchTimeoutSeconds, so a
   * launch that hangs fails by its own deadline, and bounds how long a shutdown waits.
   */
  commandTimeoutSeconds: z.number().min(0.1).default(120),
  /**
   * After SIGTERM / SIGINT (or after the drain deadline of --drain-on-exit): how long the
   * commands in flight may take before the process logs what it leaves and exits anyway.
   */
  shutdownTimeoutSeconds: z.number().min(0.1).default(20),
  /** Clean up cloud leftovers no instance owns (container instances, tasks) this often. */
  reapSeconds: z.number().min(1).default(600),
  /**
   * Reaping circuit breaker: a round in which more than this share of the daemon's container
   * instances (or of its agent tasks) looks orphaned at once is held with a warning: a cloud
   * API answering strangely must not wipe a healthy fleet. 1 turns it off.
   */
  reapMaxShare: z.number().min(0).max(1).default(0.5),
  /** Daemon identity: tagged on everything it creates; two daemons never touch each other's fleet. */
  daemonId: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'letters, digits, ".", "_" and "-" only, at most 64').default('dda'),
});

/** The simulated cloud (embedded run, dry runs against a real CI server, `simulate`). */
/** A range of seconds [low, high]; the simulator draws uniformly within it. */
const secondsRange = (low: number, high: number) =>
  z
    .tuple([z.number().min(0), z.number().min(0)], { error: 'must be [low, high]: two numbers of seconds, 0 or more' })
    .refine(([lo, hi]) => lo <= hi, { error: 'the first bound is above the second ([low, high] seconds)' })
    .default([low, high]);

export const simulatedCloudSchema = strict({
  /** A cold launch: the VM starts (`pending` until `running`, billed from then), then bootstraps until its container instance has registered and the agent image is pulled. */
  vmStartSeconds: secondsRange(20, 30),
  bootstrapSeconds: secondsRange(40, 90),
  /** Parking: `stopping`, not billed, until `stopped`. */
  stopSeconds: secondsRange(20, 60),
  /** Starting a parked instance: the VM starts, then its agent host reconnects. */
  warmStartSeconds: secondsRange(15, 25),
  reconnectSeconds: secondsRange(5, 15),
  agentStartSeconds: z.number().min(0).default(5),
  terminateSeconds: z.number().min(0).default(5),
  /** Replaced by the two parts of a cold launch; named so that an old configuration is an error, not silently ignored. */
  bootSeconds: z.undefined({ error: 'replaced by vmStartSeconds (the VM starts, default [20, 30]) and bootstrapSeconds (its agent host registers, default [40, 90])' }).optional(),
});

export const configSchema = strict({
  pools: z.array(poolSchema).min(1).default([poolSchema.parse({ name: 'default' })]),
  planner: plannerSchema.default(plannerSchema.parse({})),
  lifecycle: lifecycleSchema.default(lifecycleSchema.parse({})),
  runtime: runtimeSchema.default(runtimeSchema.parse({})),
  simulatedCloud: simulatedCloudSchema.default(simulatedCloudSchema.parse({})),
});

/** Aliases of the logic's own types, for the modules that still name them by the config. */
export type PoolConfig = PoolSpec;
export type PlannerConfig = PlannerSettings;
export type LifecycleConfig = z.infer<typeof lifecycleSchema>;
export type RuntimeConfig = z.infer<typeof runtimeSchema>;
export type Config = z.infer<typeof configSchema>;

/**
 * Parse a partial config (undefined: all defaults); the first problem becomes a one-line error
 * naming the field, in our words rather than the schema library's. An unknown key comes first:
 * a misspelled key is more often the cause of a missing one than the other way round.
 */
export function parseConfig(input: unknown, origin = 'config'): Config {
  const r = configSchema.safeParse(input === undefined ? {} : input, { error: describeIssue });
  if (!r.success) {
    const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0]!;
    const path = dotted(issue.path);
    const message = issue.code === 'unrecognized_keys' ? issue.message.replaceAll(AT, path ? `${path}.` : '') : `${path ? `${path}: ` : ''}${issue.message}`;
    throw new DdaError('CONFIG_INVALID', `${origin}: ${message}`, { path });
  }
  const cfg = r.data;
  const names = new Set<string>();
  for (const p of cfg.pools) {
    if (names.has(p.name)) throw new DdaError('CONFIG_INVALID', `${origin}: pools: duplicate pool name "${p.name}"`);
    names.add(p.name);
    if (p.min > p.max) throw new DdaError('CONFIG_INVALID', `${origin}: pools.${p.name}: min (${p.min}) is above max (${p.max})`);
  }
  // Minimums the fleet limits cannot hold would starve every pool without one, silently.
  const minSum = cfg.pools.reduce((n, p) => n + p.min, 0);
  if (minSum > cfg.planner.maxInstances) throw new DdaError('CONFIG_INVALID', `${origin}: planner.maxInstances (${cfg.planner.maxInstances}) is below the pools' minimums (${minSum})`);
  const minSpend = cfg.pools.reduce((n, p) => n + p.min * p.pricePerHour, 0);
  if (minSpend > cfg.planner.budgetPerHour + 1e-9) throw new DdaError('CONFIG_INVALID', `${origin}: planner.budgetPerHour (${cfg.planner.budgetPerHour}) is below what the pools' minimums cost (${minSpend.toFixed(2)} USD/h)`);
  return cfg;
}

/** `pools[0].demand.labels`: array indexes in brackets, as one writes them in JSON paths. */
function dotted(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

const A_TYPE: Record<string, string> = { int: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', object: 'an object', array: 'a list', tuple: 'a list', record: 'an object' };

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'number' && !Number.isInteger(v)) return String(v);
  return A_TYPE[typeof v] ?? typeof v;
}

/** Messages for issues whose schema sets none; they may quote a number but never a string value. */
function describeIssue(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required';
      return `expected ${A_TYPE[iss.expected] ?? iss.expected}, not ${typeOf(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'array') return `must hold at least ${String(iss.minimum)} item${iss.minimum === 1 ? '' : 's'}`;
      return `must be ${iss.inclusive ? 'at least' : 'above'} ${String(iss.minimum)}`;
    case 'too_big':
      if (iss.origin === 'array') return `must hold at most ${String(iss.maximum)} items`;
      return `must be ${iss.inclusive ? 'at most' : 'below'} ${String(iss.maximum)}`;
    case 'invalid_value':
      return `must be ${iss.values.length === 1 ? '' : 'one of '}${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return 'is not valid here';
  }
}

export function defaultConfig(): Config {
  return parseConfig({});
}
