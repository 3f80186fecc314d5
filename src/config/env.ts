import { z } from 'zod';
import { DdaError } from '../domain/errors.js';

/**
 * Building blocks for settings that come from environment variables. An adapter declares its
 * variables as a `z.object` whose keys are the variable names and whose values are these
 * blocks, and reads them with `parseEnv`. A blank variable counts as unset.
 *
 * Every problem becomes one CONFIG_INVALID line `VARIABLE: what is wrong`. Blocks that may hold
 * a secret, or a secret pasted in the wrong place (tokens, secret references, URLs, hosts),
 * never put the value in their message; blocks for plain infrastructure names (instance types,
 * subnets, numbers) may quote it, because that helps and cannot leak anything.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export function invalid(variable: string, problem: string): DdaError {
  return new DdaError('CONFIG_INVALID', `${variable}: ${problem}`, { variable });
}

/** Parse `env` with a schema of variables; the first problem, in the schema's key order, is thrown. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  // Every block sets its own message; zod's defaults, were one reached, name the expected type, never the value.
  throw invalid(String(issue.path[0] ?? 'environment'), issue.message);
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

/** Secrets are taken as given (no trim): whitespace may be part of them. */
export function secret(hint: string) {
  return z.preprocess(untrimmed, z.string({ error: `required: ${hint}` }));
}

/** An optional secret, untrimmed; undefined when blank. */
export function optionalSecret() {
  return z.preprocess(untrimmed, z.string().optional());
}

/** A variable the daemon refuses to read, with what to do instead. */
export function refused(instead: string) {
  return z.preprocess(trimmed, z.undefined({ error: `not read by the daemon: ${instead}` }));
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

/** host[:port], no scheme or path. */
export function host(hint: string) {
  return required(hint).refine((v) => HOST.test(v), { error: `must be host[:port] without scheme or path: ${hint}` });
}

/** `host`, or undefined when unset. */
export function optionalHost(hint: string) {
  return optional().refine((v) => v === undefined || HOST.test(v), { error: `must be host[:port] without scheme or path: ${hint}` });
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
