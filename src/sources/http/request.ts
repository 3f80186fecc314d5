import { request, type Dispatcher } from 'undici';
import type { Clock } from '../../domain/clock.js';
import { DdaError } from '../../domain/errors.js';

/**
 * The one way the queue sources talk HTTP: undici through an injected dispatcher, a
 * per-request deadline on the injected clock, and every failure mapped to a DdaError with a
 * SOURCE_* code. Messages and details are built from the source name, method, path and status
 * only, so a credential can never leak through an error (the raw undici error is not attached
 * as `cause` for the same reason: its fields are not ours to vet).
 */

export type HttpAuth = { kind: 'bearer'; token: string } | { kind: 'basic'; user: string; password: string } | { kind: 'none' };

export interface HttpTarget {
  /** 'drone', 'woodpecker', 'gocd': the prefix of every message. */
  source: string;
  /** Scheme, host and port, and an optional path prefix; no trailing slash. */
  baseUrl: string;
  auth: HttpAuth;
  timeoutMs: number;
  clock: Clock;
  dispatcher?: Dispatcher;
}

/** The target of one CI server: base URL without a trailing slash, auth, deadline, clock. */
export function httpTarget(source: string, o: { server: string; auth: HttpAuth; timeoutMs: number; clock: Clock; dispatcher?: Dispatcher | undefined }): HttpTarget {
  return { source, baseUrl: o.server.replace(/\/+$/, ''), auth: o.auth, timeoutMs: o.timeoutMs, clock: o.clock, ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}) };
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  /** Serialised as JSON. */
  json?: unknown;
  signal?: AbortSignal;
  /** Non-2xx statuses the caller handles itself (a 404 fallback, a 404 on delete). */
  accept?: readonly number[];
}

export interface HttpReply {
  status: number;
  text: string;
}

export async function httpCall(target: HttpTarget, call: HttpCall): Promise<HttpReply> {
  const where = `${target.source}: ${call.method} ${call.path}`;
  const facts = { source: target.source, method: call.method, path: call.path };
  if (call.signal?.aborted) throw call.signal.reason;

  const deadline = new AbortController();
  let timedOut = false;
  const timer = target.clock.setTimeout(() => {
    timedOut = true;
    deadline.abort(new Error('deadline'));
  }, target.timeoutMs);
  const onCallerAbort = (): void => deadline.abort(call.signal?.reason);
  call.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    const headers: Record<string, string> = { accept: 'application/json', ...lowerKeys(call.headers ?? {}) };
    const auth = authorization(target.auth);
    if (auth) headers['authorization'] = auth;
    let body: string | undefined;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    }
    const res = await request(`${target.baseUrl}${call.path}`, {
      method: call.method,
      headers,
      body,
      signal: deadline.signal,
      ...(target.dispatcher ? { dispatcher: target.dispatcher } : {}),
    });
    // Read the body even on errors: an unread body pins the connection.
    const text = await res.body.text();
    const status = res.statusCode;
    if ((status >= 200 && status < 300) || call.accept?.includes(status)) return { status, text };
    throw statusError(where, status, facts);
  } catch (e) {
    if (e instanceof DdaError) throw e;
    if (call.signal?.aborted) throw call.signal.reason;
    if (timedOut) {
      throw new DdaError('SOURCE_TIMEOUT', `${where}: no complete answer within ${target.timeoutMs} ms`, { ...facts, timeoutMs: target.timeoutMs });
    }
    const code = errorCode(e);
    throw new DdaError('SOURCE_UNREACHABLE', `${where}: connection failed (${code})`, { ...facts, cause: code });
  } finally {
    target.clock.clearTimeout(timer);
    call.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** Parse a JSON body; a body that is not JSON is SOURCE_MALFORMED (never an empty queue). */
export function parseJson(source: string, path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DdaError('SOURCE_MALFORMED', `${source}: ${path}: the body is not JSON (${text.length} bytes)`, { source, path, bytes: text.length });
  }
}

function statusError(where: string, status: number, facts: Record<string, unknown>): DdaError {
  const details = { ...facts, status };
  if (status === 401) return new DdaError('SOURCE_UNAUTHORIZED', `${where}: 401, the server rejected the token`, details);
  if (status === 403) return new DdaError('SOURCE_FORBIDDEN', `${where}: 403, the token's user lacks the permission`, details);
  if (status === 501) return new DdaError('SOURCE_UNSUPPORTED', `${where}: 501, the server does not implement this endpoint`, details);
  return new DdaError('SOURCE_HTTP', `${where}: HTTP ${status}`, details);
}

function authorization(auth: HttpAuth): string | undefined {
  if (auth.kind === 'bearer') return `Bearer ${auth.token}`;
  if (auth.kind === 'basic') return `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  return undefined;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** A stable, secret-free name for a transport failure (ECONNREFUSED, UND_ERR_SOCKET...). */
function errorCode(e: unknown): string {
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur && typeof cur === 'object'; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return e instanceof Error ? e.name : 'unknown';
}
