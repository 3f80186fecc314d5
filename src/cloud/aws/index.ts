import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger } from 'pino';
import type { AwsConfig } from './settings.js';
import type { Clock } from '../../domain/clock.js';
import type { AgentSpec } from '../../ports/agent-spec.js';
import type { CloudProvider } from '../../ports/cloud-provider.js';
import type { LeaseStore } from '../../ports/lease.js';
import type { InterruptionSource } from '../../ports/interruption-source.js';
import { sdkEc2Api } from './ec2-api.js';
import { watchThrottling } from './errors.js';
import { sdkEcsApi } from './ecs-api.js';
import { DynamoLeaseStore } from './lease-store.js';
import { AwsCloudProvider } from './provider.js';
import { sdkSqsApi, SqsInterruptionSource } from './interruption-queue.js';

export { AwsCloudProvider, startedByFor } from './provider.js';
export { DynamoLeaseStore, LEASE_KEY } from './lease-store.js';
export type { Ec2Api } from './ec2-api.js';
export type { EcsApi } from './ecs-api.js';
export { parseEventBridge } from './eventbridge.js';
export { SqsInterruptionSource, sdkSqsApi, type SqsApi } from './interruption-queue.js';

export interface AwsProviderOptions {
  clock: Clock;
  logger: Logger;
  daemonId: string;
  agents: (pool: string) => AgentSpec;
  bootTimeoutSeconds?: number;
}

/**
 * One AWS request (one attempt) may take this long, and its connection this long to open: an
 * endpoint that accepts and never answers then fails the attempt (retried by the SDK) instead
 * of holding the call forever. The runtime's command and poll deadlines bound the whole call.
 */
export const AWS_REQUEST_TIMEOUT_MS = 20_000;
export const AWS_CONNECTION_TIMEOUT_MS = 5_000;

/**
 * The AWS interpreter with real SDK clients. Throttling, 5xx and timed-out attempts are retried
 * by the SDK itself (adaptive mode: exponential backoff plus a client-side rate limiter that
 * slows down when AWS throttles); what still fails reaches the caller as a DdaError — as
 * CLOUD_THROTTLED when AWS throttled the call, even if its last attempt timed out or the
 * caller's deadline cut the SDK's backoff short.
 */
export function createAwsProvider(cfg: AwsConfig, deps: AwsProviderOptions): CloudProvider & Required<Pick<CloudProvider, 'reapOrphans'>> {
  const common = sdkCommon(cfg);
  const ec2 = new EC2Client({ ...common, requestHandler: requestHandler() });
  const ecs = new ECSClient({ ...common, requestHandler: requestHandler() });
  watchThrottling(ec2);
  watchThrottling(ecs);
  return new AwsCloudProvider({ cfg, ec2: sdkEc2Api(ec2), ecs: sdkEcsApi(ecs, cfg.cluster), ...deps });
}

/**
 * The interruption queue named by DDA_AWS_INTERRUPTION_QUEUE_URL; undefined without one (the
 * daemon then learns of interruptions from describe alone, as before). Its long poll waits up
 * to 20 s for messages, so its requests get a longer timeout than the others.
 */
export function createInterruptionSource(cfg: AwsConfig, deps: { logger: Logger }): InterruptionSource | undefined {
  if (!cfg.interruptionQueueUrl) return undefined;
  const sqs = new SQSClient({ ...sdkCommon(cfg), requestHandler: requestHandler(AWS_REQUEST_TIMEOUT_MS + 20_000) });
  watchThrottling(sqs);
  return new SqsInterruptionSource(sdkSqsApi(sqs), { queueUrl: cfg.interruptionQueueUrl, logger: deps.logger });
}

function requestHandler(requestTimeout = AWS_REQUEST_TIMEOUT_MS): NodeHttpHandler {
  return new NodeHttpHandler({ connectionTimeout: AWS_CONNECTION_TIMEOUT_MS, requestTimeout, throwOnRequestTimeout: true });
}

function sdkCommon(cfg: AwsConfig) {
  return {
    region: cfg.region,
    endpoint: cfg.endpoint,
    credentials: cfg.credentials,
    retryMode: 'adaptive' as const,
    maxAttempts: 5,
  };
}

/**
 * The replica lease in DynamoDB (cfg.lease set by DDA_AWS_LEASE_TABLE). Few attempts and a
 * short request timeout: a renewal that does not answer within its period counts as failed,
 * and the holder stops acting before its lease could have passed to another replica.
 */
export function createAwsLeaseStore(cfg: AwsConfig, daemonId: string): LeaseStore | undefined {
  if (!cfg.lease) return undefined;
  const timeoutMs = Math.min(AWS_REQUEST_TIMEOUT_MS, cfg.lease.renewSeconds * 1000);
  const client = new DynamoDBClient({
    region: cfg.region,
    endpoint: cfg.endpoint,
    credentials: cfg.credentials,
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: Math.min(AWS_CONNECTION_TIMEOUT_MS, timeoutMs), requestTimeout: timeoutMs, throwOnRequestTimeout: true }),
  });
  return new DynamoLeaseStore(client, cfg.lease.table, daemonId);
}
