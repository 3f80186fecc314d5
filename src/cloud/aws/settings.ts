import { z } from 'zod';
import * as env from '../../config/env.js';

/**
 * AWS settings from the environment. `loadAwsConfig` answers undefined when nothing AWS is
 * configured (the daemon then runs against the simulated cloud); once any DDA_AWS_* /
 * DDA_ECS_* variable is set, everything must be valid, and the first problem is a one-line
 * CONFIG_INVALID naming the variable. Credentials: the SDK's default chain (env, profile,
 * instance role) finds them, but for keys given as files (AWS_ACCESS_KEY_ID_FILE,
 * AWS_SECRET_ACCESS_KEY_FILE, AWS_SESSION_TOKEN_FILE), which the SDK does not read.
 */

export type AwsMarket = 'spot' | 'on-demand' | 'spot-then-on-demand';

/** ECS-optimised Amazon Linux 2023, resolved by EC2 itself at launch (RunInstances accepts `resolve:ssm:`). */
export const DEFAULT_AMI_AMD64 = 'resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id';
export const DEFAULT_AMI_ARM64 = 'resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id';

export interface AwsPoolOverride {
  ami?: string;
  instanceTypes?: string[];
}

export interface AwsConfig {
  region: string;
  /** Another endpoint for both EC2 and ECS (moto in tests). */
  endpoint?: string;
  /**
   * Static credentials: set by tests, and by the daemon for keys given as files (non-enumerable
   * then). Otherwise the SDK's default chain is used.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  cluster: string;
  /** Image id or `resolve:ssm:<parameter>`; undefined = the ECS-optimised AL2023 image for the pool's arch. */
  ami?: string;
  /** In order of preference. */
  instanceTypes: string[];
  /** Tried in order after the instance type; empty = the default VPC's choice. */
  subnets: string[];
  securityGroups: string[];
  /** Instance profile name or ARN (its role needs the ECS container-instance permissions). */
  instanceProfile?: string;
  rootDevice: string;
  volumeSizeGiB: number;
  volumeType: string;
  market: AwsMarket;
  /** USD/hour cap for spot bids; undefined = up to the on-demand price (AWS default). */
  spotMaxPrice?: string;
  /** USD/hour by instance type, for budgets; falls back to defaultPricePerHour. */
  prices: Record<string, number>;
  defaultPricePerHour: number;
  /** How long a (type, subnet, market) that failed for capacity is skipped. */
  capacityBackoffSeconds: number;
  /** Task execution role: pulls the agent's secrets from SSM / Secrets Manager. */
  taskExecutionRoleArn?: string;
  /** Hard memory limit of the agent container (MiB). */
  agentMemoryMiB: number;
  agentNetworkMode: 'host' | 'bridge';
  /** The instance shuts itself down after this long without a build container; 0 = off. */
  watchdogIdleMinutes: number;
  /** The watchdog also shuts it down after this long running since its latest boot, builds or not; 0 = no limit. */
  watchdogMaxHours: number;
  /** Per-pool AMI / instance types (DDA_POOL_<NAME>_AMI, DDA_POOL_<NAME>_INSTANCE_TYPES). */
  pools: Record<string, AwsPoolOverride>;
  /**
   * The replica lease (one active daemon, standbys wait) and its launch intents, in a DynamoDB
   * table keyed by the daemon identity (DDA_AWS_LEASE_TABLE); undefined = a single daemon, no
   * lease, and launches held for lifecycle.goneGraceSeconds after a start (docs/replicas.md).
   */
  lease?: AwsLeaseConfig;
  /** The SQS queue EventBridge feeds with EC2 events (interruption-queue.ts); undefined = none, describe alone. */
  interruptionQueueUrl?: string;
}

export interface AwsLeaseConfig {
  table: string;
  /** How long a lease lasts unless renewed (DDA_AWS_LEASE_SECONDS, default 30). */
  durationSeconds: number;
  /** The holder renews, and a standby looks, this often (DDA_AWS_LEASE_RENEW_SECONDS, default 10). */
  renewSeconds: number;
}

const INSTANCE_TYPE = /^[a-z0-9-]+\.[a-z0-9-]+$/;
const AMI = /^(ami-[0-9a-f]{8,17}|resolve:ssm:[A-Za-z0-9_./:-]+)$/;
const AMI_MESSAGE = 'expected ami-… or resolve:ssm:<parameter>, got "{value}"';
const PRICE = /^\d+(\.\d+)?$/;
const PRICE_MESSAGE = 'expected a price in USD per hour, got "{value}"';

const REGION_FALLBACKS = ['AWS_REGION', 'AWS_DEFAULT_REGION'];

const variables = {
    // The SDK's own region variables stand in for DDA_AWS_REGION (see loadAwsConfig).
    DDA_AWS_REGION: env.optional().transform((r, ctx) => {
      if (r === undefined) return env.problem(ctx, 'required (or AWS_REGION) when the AWS cloud is configured');
      return /^[a-z]{2}(-[a-z]+)+-\d+$/.test(r) ? r : env.problem(ctx, `"${r}" is not a region name`);
    }),
    DDA_AWS_ENDPOINT: env.optionalUrl(),
    DDA_ECS_CLUSTER: env.required('the ECS cluster the agents join').refine((c) => /^[A-Za-z0-9_-]{1,255}$/.test(c), { error: 'letters, digits, - and _ only' }),
    DDA_AMI: env.matching(AMI, AMI_MESSAGE),
    DDA_INSTANCE_TYPES: env.list(INSTANCE_TYPE, 'an instance type'),
    DDA_MARKET: env.oneOf(['spot', 'on-demand', 'spot-then-on-demand'], 'spot-then-on-demand', 'expected spot, on-demand or spot-then-on-demand, got "{value}"'),
    DDA_SPOT_MAX_PRICE: env.matching(PRICE, PRICE_MESSAGE),
    DDA_INSTANCE_PRICES: env.list(/^[a-z0-9-]+\.[a-z0-9-]+=\d+(\.\d+)?$/, 'type=price (c6i.large=0.085)'),
    DDA_DEFAULT_PRICE_PER_HOUR: env.matching(PRICE, PRICE_MESSAGE),
    DDA_VOLUME_TYPE: env.oneOf(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'], 'gp3', 'unknown volume type "{value}"'),
    DDA_TASK_EXECUTION_ROLE: env.matching(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN'),
    DDA_AGENT_NETWORK_MODE: env.oneOf(['host', 'bridge'], 'host', 'expected host or bridge'),
    DDA_INSTANCE_PROFILE: env.matching(/^(arn:aws[a-z-]*:iam::\d{12}:instance-profile\/.+|[\w+=,.@-]{1,128})$/, 'expected an instance profile name or ARN'),
    DDA_ROOT_DEVICE: env.matching(/^\/dev\/[a-z0-9]+$/, 'expected a device name like /dev/xvda'),
    DDA_SUBNETS: env.list(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id'),
    DDA_SECURITY_GROUPS: env.list(/^sg-[0-9a-f]{8,17}$/, 'a security group id'),
    DDA_VOLUME_SIZE: env.wholeNumber(30, 8, 16384),
    DDA_CAPACITY_BACKOFF_SECONDS: env.wholeNumber(300, 0, 86400),
    DDA_AGENT_MEMORY_MIB: env.wholeNumber(512, 64, 1_048_576),
    DDA_WATCHDOG_IDLE_MINUTES: env.wholeNumber(60, 0, 10080),
    DDA_WATCHDOG_MAX_HOURS: env.wholeNumber(0, 0, 8760),
    // DynamoDB table names: 3–255 of letters, digits, _ - .
    DDA_AWS_LEASE_TABLE: env.matching(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name (3-255 letters, digits, _ - .), got "{value}"'),
    DDA_AWS_LEASE_SECONDS: env.wholeNumber(30, 2, 3600),
    DDA_AWS_LEASE_RENEW_SECONDS: env.wholeNumber(10, 1, 1800),
    DDA_AWS_INTERRUPTION_QUEUE_URL: env.optionalUrl({ hint: 'the SQS queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>' }),
};

/** The SDK's own key variables, read only to take their `_FILE` twins (the SDK reads the plain ones itself). */
const credentialVariables = {
  AWS_ACCESS_KEY_ID: env.optionalSecret(),
  AWS_SECRET_ACCESS_KEY: env.optionalSecret(),
  AWS_SESSION_TOKEN: env.optionalSecret(),
};

const credentialsEnv = z.object(credentialVariables);

/** The variables of the AWS adapter, for the unknown-variable check and the `config` command. */
export const AWS_ENV = env.envNames({ ...variables, ...credentialVariables });

/** DDA_POOL_<NAME>_AMI / _INSTANCE_TYPES, for the unknown-variable check. */
export const AWS_POOL_VARIABLES = { match: /^DDA_POOL_[A-Z0-9_]+_(AMI|INSTANCE_TYPES)$/, stem: 'DDA_POOL_', hint: 'per-pool variables are DDA_POOL_<NAME>_AMI and DDA_POOL_<NAME>_INSTANCE_TYPES, <NAME> the pool name in capitals with - written _' };

/**
 * Setting any of these switches the daemon from the simulated cloud to AWS: every DDA_* AWS
 * variable and the key files. The SDK's plain variables (AWS_REGION, AWS_ACCESS_KEY_ID) do not,
 * as other tools and ECS itself set them.
 */
const TRIGGERS = [...Object.keys(variables), ...Object.keys(credentialVariables).map((k) => `${k}_FILE`)];

export const awsEnv = z
  .object(variables)
  .superRefine((e, ctx) => {
    // At least two renewals per lease: one lost answer must not cost the lease.
    if (e.DDA_AWS_LEASE_RENEW_SECONDS * 2 > e.DDA_AWS_LEASE_SECONDS) {
      env.problem(ctx, `must be at most half of DDA_AWS_LEASE_SECONDS (${e.DDA_AWS_LEASE_SECONDS}), got ${e.DDA_AWS_LEASE_RENEW_SECONDS}`, 'DDA_AWS_LEASE_RENEW_SECONDS');
    }
  })
  .transform(
    (e): Omit<AwsConfig, 'pools'> => ({
      region: e.DDA_AWS_REGION,
      endpoint: e.DDA_AWS_ENDPOINT,
      cluster: e.DDA_ECS_CLUSTER,
      ami: e.DDA_AMI,
      instanceTypes: e.DDA_INSTANCE_TYPES.length > 0 ? e.DDA_INSTANCE_TYPES : ['c6i.large', 'c5.large', 'm6i.large'],
      subnets: e.DDA_SUBNETS,
      securityGroups: e.DDA_SECURITY_GROUPS,
      instanceProfile: e.DDA_INSTANCE_PROFILE,
      rootDevice: e.DDA_ROOT_DEVICE ?? '/dev/xvda',
      volumeSizeGiB: e.DDA_VOLUME_SIZE,
      volumeType: e.DDA_VOLUME_TYPE!,
      market: e.DDA_MARKET!,
      spotMaxPrice: e.DDA_SPOT_MAX_PRICE,
      prices: Object.fromEntries(e.DDA_INSTANCE_PRICES.map((pair) => pair.split('=') as [string, string]).map(([t, p]) => [t, Number(p)])),
      defaultPricePerHour: e.DDA_DEFAULT_PRICE_PER_HOUR === undefined ? 0.17 : Number(e.DDA_DEFAULT_PRICE_PER_HOUR),
      capacityBackoffSeconds: e.DDA_CAPACITY_BACKOFF_SECONDS,
      taskExecutionRoleArn: e.DDA_TASK_EXECUTION_ROLE,
      agentMemoryMiB: e.DDA_AGENT_MEMORY_MIB,
      agentNetworkMode: e.DDA_AGENT_NETWORK_MODE!,
      watchdogIdleMinutes: e.DDA_WATCHDOG_IDLE_MINUTES,
      watchdogMaxHours: e.DDA_WATCHDOG_MAX_HOURS,
      ...(e.DDA_AWS_LEASE_TABLE === undefined ? {} : { lease: { table: e.DDA_AWS_LEASE_TABLE, durationSeconds: e.DDA_AWS_LEASE_SECONDS, renewSeconds: e.DDA_AWS_LEASE_RENEW_SECONDS } }),
      ...(e.DDA_AWS_INTERRUPTION_QUEUE_URL ? { interruptionQueueUrl: e.DDA_AWS_INTERRUPTION_QUEUE_URL } : {}),
    }),
  );

const POOL_VARIABLE = /^DDA_POOL_([A-Z0-9_]+)_(AMI|INSTANCE_TYPES)$/;
const isTrigger = (vars: env.Env, k: string) => env.isSet(vars, k) && (TRIGGERS.includes(k) || POOL_VARIABLE.test(k));
const poolOverride = { AMI: env.matching(AMI, AMI_MESSAGE), INSTANCE_TYPES: env.list(INSTANCE_TYPE, 'an instance type') };

/** DDA_POOL_<NAME>_AMI / _INSTANCE_TYPES: the pool name upper case, `-` written `_`. */
function poolOverrides(vars: env.Env): Record<string, AwsPoolOverride> {
  const pools: Record<string, AwsPoolOverride> = {};
  for (const name of Object.keys(vars).sort()) {
    const m = POOL_VARIABLE.exec(name);
    if (!m || !env.isSet(vars, name)) continue;
    const o = (pools[m[1]!.toLowerCase().replace(/_/g, '-')] ??= {});
    if (m[2] === 'AMI') o.ami = env.parseEnv(z.object({ [name]: poolOverride.AMI }), vars)[name];
    else o.instanceTypes = env.parseEnv(z.object({ [name]: poolOverride.INSTANCE_TYPES }), vars)[name];
  }
  return pools;
}

export function loadAwsConfig(vars: env.Env): AwsConfig | undefined {
  const set = Object.keys(vars).filter((k) => isTrigger(vars, k)).sort();
  if (set.length === 0) return undefined;
  const region = ['DDA_AWS_REGION', ...REGION_FALLBACKS].find((k) => env.isSet(vars, k));
  // Named together, as a half-configured AWS is usually missing both.
  const missing = [...(env.isSet(vars, 'DDA_ECS_CLUSTER') ? [] : ['DDA_ECS_CLUSTER']), ...(region ? [] : ['DDA_AWS_REGION'])];
  if (missing.length > 0) {
    const given = set;
    const names = missing.map((k) => (k === 'DDA_AWS_REGION' ? 'DDA_AWS_REGION (or AWS_REGION)' : k)).join(' and ');
    throw env.invalid(missing[0]!, `required: ${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} set, so the daemon would use AWS, but ${names} ${missing.length > 1 ? 'are' : 'is'} not; set ${missing.length > 1 ? 'them' : 'it'}, or unset ${given.length > 1 ? 'those' : given[0]} to dry-run on the simulated cloud`);
  }
  const settings = env.parseEnv(awsEnv, { ...vars, DDA_AWS_REGION: region && vars[region] });
  const config: AwsConfig = { ...settings, pools: poolOverrides(vars) };
  const keys = credentialsFromFiles(vars);
  return keys ? env.withSecret(config, 'credentials', keys) : config;
}

/** Keys given as files (the SDK reads only the plain variables); both halves required then. */
function credentialsFromFiles(vars: env.Env): AwsConfig['credentials'] {
  if (!Object.keys(credentialVariables).some((k) => env.isSet(vars, `${k}_FILE`))) return undefined;
  const c = env.parseEnv(credentialsEnv, vars);
  if (c.AWS_ACCESS_KEY_ID === undefined) throw env.invalid('AWS_ACCESS_KEY_ID', 'required with AWS_SECRET_ACCESS_KEY_FILE (or AWS_ACCESS_KEY_ID_FILE, a file holding it)');
  if (c.AWS_SECRET_ACCESS_KEY === undefined) throw env.invalid('AWS_SECRET_ACCESS_KEY', 'required with AWS_ACCESS_KEY_ID_FILE (or AWS_SECRET_ACCESS_KEY_FILE, a file holding it)');
  return { accessKeyId: c.AWS_ACCESS_KEY_ID, secretAccessKey: c.AWS_SECRET_ACCESS_KEY, ...(c.AWS_SESSION_TOKEN === undefined ? {} : { sessionToken: c.AWS_SESSION_TOKEN }) };
}
