/**
 * Typed errors with stable codes: callers decide on `code`, never on message text.
 * Messages are one line and never carry secrets (tokens, keys): build them from
 * names and statuses only.
 */
export type ErrorCode =
  // configuration and input
  | 'CONFIG_INVALID'
  | 'TRACE_UNREADABLE'
  | 'TRACE_INVALID'
  | 'USAGE'
  // CI server (queue sources)
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_TIMEOUT'
  | 'SOURCE_HTTP'
  | 'SOURCE_MALFORMED'
  | 'SOURCE_UNAUTHORIZED'
  | 'SOURCE_FORBIDDEN'
  | 'SOURCE_UNSUPPORTED'
  // cloud
  | 'CLOUD_CAPACITY'
  | 'CLOUD_LIMIT'
  | 'CLOUD_THROTTLED'
  | 'CLOUD_NOT_FOUND'
  | 'CLOUD_UNAVAILABLE'
  /** A command's deadline passed before the cloud answered (the call was aborted). */
  | 'CLOUD_TIMEOUT'
  | 'CLOUD_FAILED'
  // the replica lease (src/ports/lease.ts)
  /** Another replica holds the lease, or ours ended: this daemon must not act. */
  | 'LEASE_LOST'
  /** The lease store could not be reached or answered strangely. */
  | 'LEASE_UNAVAILABLE';

export class DdaError extends Error {
  readonly code: ErrorCode;
  /** Structured, secret-free facts for logs (status, variable name, instance id...). */
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DdaError';
    this.code = code;
    this.details = details;
  }
}

export function isDdaError(e: unknown, code?: ErrorCode): e is DdaError {
  return e instanceof DdaError && (code === undefined || e.code === code);
}

/** Capacity-type cloud errors: try another type/subnet/market, do not retry the same. */
export function isCapacityError(e: unknown): boolean {
  return isDdaError(e, 'CLOUD_CAPACITY') || isDdaError(e, 'CLOUD_LIMIT');
}

/** One line, no stack, for the CLI and for log `err` fields. */
export function describeError(e: unknown): string {
  if (e instanceof DdaError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message.split('\n')[0] ?? e.name;
  return String(e).split('\n')[0] ?? 'unknown error';
}
