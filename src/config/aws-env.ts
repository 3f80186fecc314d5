import { DdaError } from '../domain/errors.js';

/**
 * AWS settings from the environment. `loadAwsConfig` answers undefined when nothing AWS is
 * configured (the daemon then runs against the simulated cloud); once any DDA_AWS_* /
 * DDA_ECS_* variable is set, everything must be valid, and the first problem is a one-line
 * CONFIG_INVALID naming the variable. Credentials are never read here: the SDK's default chain
 * (env, profile, instance role) finds them.
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
  /** Static credentials; only set by tests. In the daemon the SDK's default chain is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
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
  /** Per-pool AMI / instance types (DDA_POOL_<NAME>_AMI, DDA_POOL_<NAME>_INSTANCE_TYPES). */
  pools: Record<string, AwsPoolOverride>;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRIGGERS = ['DDA_AWS_REGION', 'DDA_AWS_ENDPOINT', 'DDA_ECS_CLUSTER'];

function bad(variable: string, why: string): DdaError {
  return new DdaError('CONFIG_INVALID', `${variable}: ${why}`, { variable });
}

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function list(env: Env, name: string, item: RegExp, what: string): string[] {
  const v = str(env, name);
  if (!v) return [];
  const xs = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const x of xs) if (!item.test(x)) throw bad(name, `"${x}" is not ${what}`);
  return xs;
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw bad(name, `expected a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw bad(name, `expected ${min}..${max}, got ${n}`);
  return n;
}

function price(name: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw bad(name, `expected a price in USD per hour, got "${v}"`);
  return Number(v);
}

const INSTANCE_TYPE = /^[a-z0-9-]+\.[a-z0-9-]+$/;
const AMI = /^(ami-[0-9a-f]{8,17}|resolve:ssm:[A-Za-z0-9_./:-]+)$/;

export function loadAwsConfig(env: Env): AwsConfig | undefined {
  if (!TRIGGERS.some((k) => str(env, k) !== undefined)) return undefined;

  const region = str(env, 'DDA_AWS_REGION') ?? str(env, 'AWS_REGION') ?? str(env, 'AWS_DEFAULT_REGION');
  if (!region) throw bad('DDA_AWS_REGION', 'required (or AWS_REGION) when the AWS cloud is configured');
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw bad('DDA_AWS_REGION', `"${region}" is not a region name`);

  const endpoint = str(env, 'DDA_AWS_ENDPOINT');
  if (endpoint !== undefined) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw bad('DDA_AWS_ENDPOINT', 'not a URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('DDA_AWS_ENDPOINT', 'expected http:// or https://');
    if (u.username || u.password) throw bad('DDA_AWS_ENDPOINT', 'must not carry credentials');
  }

  const cluster = str(env, 'DDA_ECS_CLUSTER');
  if (!cluster) throw bad('DDA_ECS_CLUSTER', 'required: the ECS cluster the agents join');
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(cluster)) throw bad('DDA_ECS_CLUSTER', 'letters, digits, - and _ only');

  const ami = str(env, 'DDA_AMI');
  if (ami !== undefined && !AMI.test(ami)) throw bad('DDA_AMI', `expected ami-… or resolve:ssm:<parameter>, got "${ami}"`);

  const instanceTypes = list(env, 'DDA_INSTANCE_TYPES', INSTANCE_TYPE, 'an instance type');
  if (instanceTypes.length === 0) instanceTypes.push('c6i.large', 'c5.large', 'm6i.large');

  const market = (str(env, 'DDA_MARKET') ?? 'spot-then-on-demand') as AwsMarket;
  if (!['spot', 'on-demand', 'spot-then-on-demand'].includes(market)) throw bad('DDA_MARKET', `expected spot, on-demand or spot-then-on-demand, got "${market}"`);

  const spotMaxPrice = str(env, 'DDA_SPOT_MAX_PRICE');
  if (spotMaxPrice !== undefined) price('DDA_SPOT_MAX_PRICE', spotMaxPrice);

  const prices: Record<string, number> = {};
  for (const pair of list(env, 'DDA_INSTANCE_PRICES', /^[a-z0-9-]+\.[a-z0-9-]+=\d+(\.\d+)?$/, 'type=price (c6i.large=0.085)')) {
    const [t, p] = pair.split('=') as [string, string];
    prices[t] = price('DDA_INSTANCE_PRICES', p);
  }
  const dp = str(env, 'DDA_DEFAULT_PRICE_PER_HOUR');
  const defaultPricePerHour = dp === undefined ? 0.17 : price('DDA_DEFAULT_PRICE_PER_HOUR', dp);

  const volumeType = str(env, 'DDA_VOLUME_TYPE') ?? 'gp3';
  if (!['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'].includes(volumeType)) throw bad('DDA_VOLUME_TYPE', `unknown volume type "${volumeType}"`);

  const executionRole = str(env, 'DDA_TASK_EXECUTION_ROLE');
  if (executionRole !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(executionRole)) throw bad('DDA_TASK_EXECUTION_ROLE', 'expected an IAM role ARN');

  const networkMode = str(env, 'DDA_AGENT_NETWORK_MODE') ?? 'host';
  if (networkMode !== 'host' && networkMode !== 'bridge') throw bad('DDA_AGENT_NETWORK_MODE', 'expected host or bridge');

  const profile = str(env, 'DDA_INSTANCE_PROFILE');
  if (profile !== undefined && !/^(arn:aws[a-z-]*:iam::\d{12}:instance-profile\/.+|[\w+=,.@-]{1,128})$/.test(profile)) throw bad('DDA_INSTANCE_PROFILE', 'expected an instance profile name or ARN');

  const rootDevice = str(env, 'DDA_ROOT_DEVICE') ?? '/dev/xvda';
  if (!/^\/dev\/[a-z0-9]+$/.test(rootDevice)) throw bad('DDA_ROOT_DEVICE', 'expected a device name like /dev/xvda');

  const pools: Record<string, AwsPoolOverride> = {};
  for (const [k, v] of Object.entries(env)) {
    const m = /^DDA_POOL_([A-Z0-9_]+)_(AMI|INSTANCE_TYPES)$/.exec(k);
    if (!m || !v?.trim()) continue;
    const pool = m[1]!.toLowerCase().replace(/_/g, '-');
    const o = (pools[pool] ??= {});
    if (m[2] === 'AMI') {
      if (!AMI.test(v.trim())) throw bad(k, `expected ami-… or resolve:ssm:<parameter>, got "${v.trim()}"`);
      o.ami = v.trim();
    } else {
      o.instanceTypes = list(env, k, INSTANCE_TYPE, 'an instance type');
    }
  }

  return {
    region,
    endpoint,
    cluster,
    ami,
    instanceTypes,
    subnets: list(env, 'DDA_SUBNETS', /^subnet-[0-9a-f]{8,17}$/, 'a subnet id'),
    securityGroups: list(env, 'DDA_SECURITY_GROUPS', /^sg-[0-9a-f]{8,17}$/, 'a security group id'),
    instanceProfile: profile,
    rootDevice,
    volumeSizeGiB: int(env, 'DDA_VOLUME_SIZE', 30, 8, 16384),
    volumeType,
    market,
    spotMaxPrice,
    prices,
    defaultPricePerHour,
    capacityBackoffSeconds: int(env, 'DDA_CAPACITY_BACKOFF_SECONDS', 300, 0, 86400),
    taskExecutionRoleArn: executionRole,
    agentMemoryMiB: int(env, 'DDA_AGENT_MEMORY_MIB', 512, 64, 1_048_576),
    agentNetworkMode: networkMode,
    watchdogIdleMinutes: int(env, 'DDA_WATCHDOG_IDLE_MINUTES', 60, 0, 10080),
    pools,
  };
}
