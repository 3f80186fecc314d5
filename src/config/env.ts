import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DdaError } from '../domain/errors.js';
import { nearestName } from './suggest.js';

/**
 * Building blocks for settings that come from environment variables. An adapter declares its
 * variables as a `z.object` whose keys are the variable names and whose values are these
 * blocks, and reads them with `parseEnv`. A blank variable counts as unset.
 *
 * Every problem becomes one CONFIG_INVALID line `VARIABLE: what is wrong`. Blocks that may hold
 * a secret, or a secret pasted in the wrong place (tokens, secret references, URLs, hosts),
 * never put the value in their message; blocks for plain infrastructure names (instance types,
 * subnets, numbers) may quote it, because that helps and cannot leak anything.
 *
 * Secrets may come from files, the Woodpecker convention: `<NAME>_FILE` names a file whose
 * trimmed content is the value of `<NAME>` (a Docker or Kubernetes secret mounted as a file).
 * `parseEnv` reads them for every `secret` / `optionalSecret` block of the schema it is given.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export function invalid(variable: string, problem: string): DdaError {
  return new DdaError('CONFIG_INVALID', `${variable}: ${problem}`, { variable });
}

/** Parse `env` with a schema of variables; the first problem, in the schema's key order, is thrown. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const shape = shapeOf(schema);
  const r = schema.safeParse(withSecretFiles(shape, env));
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  const block = shape[variable];
  const orFile = block && secretBlocks.has(block) && issue.message.startsWith('required') ? ` (or ${variable}_FILE, a file holding it)` : '';
  // Every block sets its own message; zod's defaults, were one reached, name the expected type, never the value.
  throw invalid(variable, issue.message + orFile);
}

export function isSet(env: Env, name: string): boolean {
  return (env[name] ?? '').trim() !== '';
}

/**
 * Record a problem inside a `.transform`: of the variable being parsed, or of `variable` when the
 * check spans several (the transform of the whole object).
 */
export function problem(ctx: z.RefinementCtx, message: string, variable?: string): never {
  ctx.addIssue({ code: 'custom', message, ...(variable === undefined ? {} : { path: [variable] }) });
  return z.NEVER;
}

const trimmed = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const untrimmed = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** A plain value, trimmed; undefined when unset. */
export function optional() {
  return z.preprocess(trimmed, z.string().optional());
}

/** A plain value that must be set. */
export function required(hint: string) {
  return z.preprocess(trimmed, z.string({ error: `required: ${hint}` }));
}

/** A plain value, or `fallback` when unset. */
export function withDefault(fallback: string) {
  return optional().transform((v) => v ?? fallback);
}

/** Blocks that hold a secret (they take a `_FILE` twin), and refused ones with what to do instead. */
const secretBlocks = new WeakSet<z.ZodType>();
const refusedBlocks = new WeakMap<z.ZodType, string>();

/** Secrets are taken as given (no trim): whitespace may be part of them. `<NAME>_FILE` may hold it instead. */
export function secret(hint: string) {
  const block = z.preprocess(untrimmed, z.string({ error: `required: ${hint}` }));
  secretBlocks.add(block);
  return block;
}

/** An optional secret, untrimmed; undefined when blank. `<NAME>_FILE` may hold it instead. */
export function optionalSecret() {
  const block = z.preprocess(untrimmed, z.string().optional());
  secretBlocks.add(block);
  return block;
}

/** A variable the daemon refuses to read, with what to do instead; its `_FILE` twin is refused too. */
export function refused(instead: string) {
  const message = `not read by the daemon: ${instead}`;
  const block = z.preprocess(trimmed, z.undefined({ error: message }));
  refusedBlocks.set(block, message);
  return block;
}

type Shape = Readonly<Record<string, z.ZodType>>;

/** The variables of an env schema (`z.object`, or one with a `.transform`). */
function shapeOf(schema: z.ZodType): Shape {
  const base = schema instanceof z.ZodPipe ? schema.in : schema;
  return base instanceof z.ZodObject ? (base.shape as Shape) : {};
}

/** `env` with each secret of `shape` given as `<NAME>_FILE` read into `<NAME>`. */
function withSecretFiles(shape: Shape, env: Env): Env {
  let out: Record<string, string | undefined> | undefined;
  for (const [name, block] of Object.entries(shape)) {
    const fileVar = `${name}_FILE`;
    if (!isSet(env, fileVar)) continue;
    const refusal = refusedBlocks.get(block);
    if (refusal !== undefined) throw invalid(fileVar, refusal);
    if (!secretBlocks.has(block)) continue;
    if (isSet(env, name)) throw invalid(fileVar, `${name} is set too: set one of the two`);
    (out ??= { ...env })[name] = readSecretFile(fileVar, env[fileVar]!.trim());
  }
  return out ?? env;
}

/** The trimmed content of a secret's file; a problem names the variable and the path, never the content. */
function readSecretFile(variable: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid(variable, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const value = text.trim();
  if (value === '') throw invalid(variable, `${path} is empty`);
  return value;
}

/** What the unknown-variable check needs to know of an env schema: its names (with `_FILE` twins) and which are secrets. */
export interface EnvNames {
  /** Every variable read or refused, each secret's and refused one's `_FILE` twin included. */
  readonly names: readonly string[];
  /** Variables holding a secret: never shown, masked in `drone-dynamic-agents config`. */
  readonly secrets: readonly string[];
}

export function envNames(schema: z.ZodType | Shape): EnvNames {
  const shape = schema instanceof z.ZodType ? shapeOf(schema) : schema;
  const names: string[] = [];
  const secrets: string[] = [];
  for (const [name, block] of Object.entries(shape)) {
    names.push(name);
    if (secretBlocks.has(block)) secrets.push(name);
    if (secretBlocks.has(block) || refusedBlocks.has(block)) names.push(`${name}_FILE`);
  }
  return { names, secrets };
}

/** The variables one part of the daemon owns, for the unknown-variable check. */
export interface NameScope {
  /** Its variables start with this: `DDA_`, `DRONE_`. */
  readonly prefix: string;
  readonly names: readonly string[];
  /** Families of variables (`DDA_POOL_<NAME>_AMI`), with how to write them when one is misspelt. */
  readonly patterns?: readonly { readonly match: RegExp; readonly stem: string; readonly hint: string }[];
  /**
   * The prefix is ours alone: any unknown variable with it is an error. Otherwise (a CI server's
   * prefix, which its own server and agents share) only a near miss of one of ours is noticed.
   */
  readonly owned: boolean;
}

/**
 * Check the names of the set variables against `scopes`. A variable in an owned scope that no
 * schema reads is an error naming the nearest known one: a typo silently ignored would leave
 * a setting at its default without a word. In a shared scope, a near miss of one of our
 * variables is an error while the variable it resembles is unset (it was surely meant), and a
 * warning when that one is set too (then it is more likely another program's: Drone's server
 * reads DRONE_SERVER_PORT beside DRONE_SERVER_HOST). Throws the first error, in name order;
 * answers the warnings.
 */
export function checkNames(env: Env, scopes: readonly NameScope[]): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!isSet(env, name)) continue;
    const scope = scopes.find((s) => name.startsWith(s.prefix));
    if (!scope || scope.names.includes(name) || scope.patterns?.some((p) => p.match.test(name))) continue;
    const near = nearestName(name, scope.names);
    if (scope.owned) {
      const family = scope.patterns?.find((p) => name.startsWith(p.stem));
      const advice = near ? `did you mean ${near}?` : family ? family.hint : 'the variables are listed in docs/configuration.md';
      throw invalid(name, `unknown variable — ${advice}`);
    }
    if (near === undefined) continue;
    if (!isSet(env, near)) throw invalid(name, `unknown variable — did you mean ${near}?`);
    warnings.push(`${name}: unknown variable, ignored (${near} is set; did you mean it?)`);
  }
  return warnings;
}

/** Seconds in (0, max]; fractions allowed. */
export function seconds(fallback: number, max: number) {
  const message = `must be a number of seconds between 0 and ${max}`;
  return optional().transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    return Number.isFinite(n) && n > 0 && n <= max ? n : problem(ctx, message);
  });
}

/** A whole number in [min, max]. */
export function wholeNumber(fallback: number, min: number, max: number) {
  return optional().transform((v, ctx) => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) return problem(ctx, `expected a whole number, got "${v}"`);
    const n = Number(v);
    return n >= min && n <= max ? n : problem(ctx, `expected ${min}..${max}, got ${n}`);
  });
}

/** true/1 or false/0 (any case); undefined when unset. */
export function flag() {
  return optional().transform((v, ctx) => {
    const s = v?.toLowerCase();
    if (s === undefined) return undefined;
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    return problem(ctx, 'must be true or false');
  });
}

/** One of `values`; `message` says which, and may quote the value with `{value}`. */
export function oneOf<const T extends string>(values: readonly T[], fallback: NoInfer<T> | undefined, message: string) {
  return optional().transform((v, ctx): T | undefined => {
    const s = v ?? fallback;
    if (s === undefined || (values as readonly string[]).includes(s)) return s as T | undefined;
    return problem(ctx, message.replace('{value}', s));
  });
}

/** `http` or `https`; undefined when unset (the caller picks the default, which may depend on another variable). */
export function proto() {
  return oneOf(['http', 'https'], undefined, 'must be http or https');
}

/** A value matching `pattern`; `message` may quote it with `{value}`. */
export function matching(pattern: RegExp, message: string) {
  return optional().refine((v) => v === undefined || pattern.test(v), { error: (iss) => message.replace('{value}', String(iss.input)) });
}

/** A comma-separated list; blanks dropped; every item must match `item`. */
export function list(item: RegExp, what: string) {
  return optional().transform((v, ctx) => {
    const xs = (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = xs.find((x) => !item.test(x));
    return bad === undefined ? xs : problem(ctx, `"${bad}" is not ${what}`);
  });
}

/**
 * An http(s) URL without user or password in it, trailing slashes dropped; the value is never
 * shown (a URL with credentials in it is a secret). `hint` says what is expected when it is
 * missing or malformed; `credentials` what to use instead of credentials in the URL.
 */
export function url(o: { hint: string; credentials?: string }) {
  return required(o.hint).transform((v, ctx) => checkUrl(v, ctx, o));
}

/** `url`, or undefined when unset. */
export function optionalUrl(o: { hint?: string; credentials?: string } = {}) {
  return optional().transform((v, ctx) => (v === undefined ? undefined : checkUrl(v, ctx, o)));
}

function checkUrl(v: string, ctx: z.RefinementCtx, o: { hint?: string; credentials?: string }): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return problem(ctx, o.hint ? `not a URL: ${o.hint}` : 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return problem(ctx, 'must be an http:// or https:// URL');
  if (u.username || u.password) return problem(ctx, o.credentials ? `must not carry credentials; ${o.credentials}` : 'must not carry credentials');
  return v.replace(/\/+$/, '');
}

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** A TCP port a client may connect to. */
const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

function checkHost(v: string, ctx: z.RefinementCtx, hint: string): string {
  if (!HOST.test(v)) return problem(ctx, `must be host[:port] without scheme or path: ${hint}`);
  const port = v.includes(':') ? Number(v.slice(v.lastIndexOf(':') + 1)) : undefined;
  return port === undefined || isPort(port) ? v : problem(ctx, `the port must be 1 to 65535, not ${port} (${hint})`);
}

/** host[:port], no scheme or path. */
export function host(hint: string) {
  return required(hint).transform((v, ctx) => checkHost(v, ctx, hint));
}

/** `host`, or undefined when unset. */
export function optionalHost(hint: string) {
  return optional().transform((v, ctx) => (v === undefined ? undefined : checkHost(v, ctx, hint)));
}

/** A TCP port to listen on, 1 to 65535, or `fallback` when unset. */
export function port(fallback: number) {
  return optional().transform((v, ctx) => {
    if (v === undefined) return fallback;
    return /^\d+$/.test(v) && isPort(Number(v)) ? Number(v) : problem(ctx, `must be a TCP port from 1 to 65535, not "${v}"`);
  });
}

/** Where a server listens, from `[host:]port` (an IPv6 host in brackets; port 0: any free port). */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port` again, an IPv6 host in brackets. */
export function formatListen(a: ListenAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

const LISTEN = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/;

/** `[host:]port` to listen on (host default `defaultHost`); undefined when unset. The value is an address: it may be quoted. */
export function listen(defaultHost: string) {
  return optional().transform((v, ctx): ListenAddress | undefined => {
    if (v === undefined) return undefined;
    const m = LISTEN.exec(v);
    if (!m) return problem(ctx, `must be [host:]port, e.g. 127.0.0.1:9090 or 9090, not "${v}"`);
    const port = Number(m[2]);
    if (port > 65535) return problem(ctx, `the port must be 0 to 65535, not ${port}`);
    return { host: (m[1] ?? defaultHost).replace(/^\[|\]$/g, ''), port };
  });
}

const SECRET_ARN = /^arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:(parameter\/|secret:)\S+$/;
const SSM_PATH = /^(\/[A-Za-z0-9_.-]+)+$/;

/** A reference to a secret in SSM Parameter Store or Secrets Manager, never the secret itself. */
export function secretRef(what: string) {
  return required(`the SSM parameter name (/path/name) or SSM/Secrets Manager ARN holding ${what}`).refine((v) => SECRET_ARN.test(v) || SSM_PATH.test(v), {
    error: `must be an SSM parameter path starting with / or an SSM/Secrets Manager ARN holding ${what} (value not shown)`,
  });
}

/**
 * Keep `value` on `obj` as a non-enumerable, read-only property, so logging or serialising the
 * settings object cannot print it.
 */
export function withSecret<T extends object, K extends string, V>(obj: T, key: K, value: V): T & { readonly [P in K]: V } {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: false });
  return obj as T & { readonly [P in K]: V };
}
