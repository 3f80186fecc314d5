import { DdaError, type ErrorCode } from '../../domain/errors.js';

/**
 * The one place AWS errors become DdaError codes. Callers (the lifecycle machines, the launch
 * fallback) decide on the code; nothing downstream ever looks at AWS error names or text.
 */

const CAPACITY = new Set(['InsufficientInstanceCapacity', 'SpotMaxPriceTooLow', 'Unsupported', 'InsufficientCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity']);
const LIMIT = new Set(['InstanceLimitExceeded', 'VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded']);
// The SDK's own list of throttling codes (@smithy/core retry) minus the quota-shaped ones
// (ECS's LimitExceededException is a resource limit, not a rate).
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'EC2ThrottledException', 'ThrottledException', 'PriorRequestNotComplete', 'BandwidthLimitExceeded']);
const NOT_FOUND = new Set(['InvalidInstanceID.NotFound', 'InvalidSpotInstanceRequestID.NotFound']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'AbortError', 'ServerException', 'InternalError', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException', 'Unavailable']);

interface AwsLikeError {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  cause?: unknown;
  [THROTTLED_BEFORE]?: boolean;
}

/**
 * Set by `watchThrottling` on an error that ends a call in which AWS throttled an earlier
 * attempt: the SDK's retry then fails with whatever came last — a request timeout while it
 * waited, the abort of the caller's deadline during its backoff sleep — and the throttling that
 * caused it would otherwise read as "unavailable".
 */
const THROTTLED_BEFORE = Symbol.for('dda.aws.throttledBefore');

function errorName(e: AwsLikeError): string {
  for (const v of [e.Code, e.name, e.code]) if (typeof v === 'string' && v !== '' && v !== 'Error') return v;
  return 'Error';
}

export function classifyAwsError(e: unknown): ErrorCode {
  if (e instanceof DdaError) return e.code;
  const err = (e ?? {}) as AwsLikeError;
  const name = errorName(err);
  const sysCode = typeof err.code === 'string' ? err.code : typeof (err.cause as AwsLikeError | undefined)?.code === 'string' ? ((err.cause as AwsLikeError).code as string) : '';
  if (CAPACITY.has(name)) return 'CLOUD_CAPACITY';
  if (LIMIT.has(name)) return 'CLOUD_LIMIT';
  if (THROTTLED.has(name) || err.$metadata?.httpStatusCode === 429 || err.$retryable?.throttling === true) return 'CLOUD_THROTTLED';
  if (NOT_FOUND.has(name)) return 'CLOUD_NOT_FOUND';
  const status = err.$metadata?.httpStatusCode;
  const unavailable = NETWORK.has(sysCode) || NETWORK.has(name) || UNAVAILABLE_NAMES.has(name) || (status !== undefined && status >= 500) || err.$fault === 'server';
  if (unavailable) return err[THROTTLED_BEFORE] === true ? 'CLOUD_THROTTLED' : 'CLOUD_UNAVAILABLE';
  return 'CLOUD_FAILED';
}

interface Stack {
  add(mw: unknown, opts: { step: 'initialize'; name: string }): void;
  addRelativeTo(mw: unknown, opts: { relation: 'after'; toMiddleware: string; name: string }): void;
}
type Next = (args: unknown) => Promise<unknown>;

/**
 * Remembers, per call, whether any attempt was throttled (a middleware inside the SDK's retry
 * sees every attempt), and marks the error the call finally fails with (one outside it), so
 * `classifyAwsError` reads a timeout or an abort that followed throttling as CLOUD_THROTTLED.
 */
export function watchThrottling(client: { middlewareStack: unknown }): void {
  const stack = client.middlewareStack as Stack;
  const seen = new WeakSet<object>();
  stack.addRelativeTo(
    (next: Next, context: object) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (e) {
        if (classifyAwsError(e) === 'CLOUD_THROTTLED') seen.add(context);
        throw e;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'ddaSeeThrottledAttempts' },
  );
  stack.add(
    (next: Next, context: object) => async (args: unknown) => {
      try {
        return await next(args);
      } catch (e) {
        if (seen.has(context) && typeof e === 'object' && e !== null && !Object.isFrozen(e)) (e as AwsLikeError)[THROTTLED_BEFORE] = true;
        throw e;
      }
    },
    { step: 'initialize', name: 'ddaMarkThrottledCalls' },
  );
}

/**
 * AWS messages are mostly safe, but some carry long encoded blobs (UnauthorizedOperation's
 * "Encoded authorization failure message") and a misconfigured endpoint can echo request
 * headers. Keep one short line and blank anything shaped like an access key or signature.
 */
export function safeAwsMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  let line = (raw.split('\n')[0] ?? '').trim();
  line = line.replace(/Encoded authorization failure message:.*$/i, 'encoded authorization failure message omitted');
  line = line.replace(/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, '[key]');
  line = line.replace(/(Signature|Credential|X-Amz-Security-Token|aws_secret_access_key|SecretAccessKey)\s*[=:]\s*\S+/gi, '$1=[redacted]');
  line = line.replace(/[A-Za-z0-9/+]{40,}={0,2}/g, '[redacted]');
  if (line.length > 200) line = `${line.slice(0, 200)}…`;
  return line;
}

/**
 * `action` is the AWS call (RunInstances); `details` are secret-free facts (instance id, type).
 * The SDK error is deliberately not kept as `cause`: it holds the raw HTTP exchange, including
 * the signed Authorization header (access key id, signature), and any logger or test runner
 * that serialises causes would print it. Only its name, status and request id survive.
 */
export function toCloudError(e: unknown, action: string, details: Record<string, unknown> = {}): DdaError {
  if (e instanceof DdaError) return e;
  const err = (e ?? {}) as AwsLikeError & { $metadata?: { requestId?: string } };
  const code = classifyAwsError(e);
  const name = errorName(err);
  const msg = safeAwsMessage(e);
  const facts: Record<string, unknown> = { ...details, action, awsError: name };
  if (err.$metadata?.httpStatusCode !== undefined) facts['httpStatus'] = err.$metadata.httpStatusCode;
  if (err.$metadata?.requestId) facts['requestId'] = err.$metadata.requestId;
  return new DdaError(code, `${action}: ${name}${msg && msg !== name ? `: ${msg}` : ''}`, facts);
}
