import { createHash } from 'node:crypto';
import type { Instance, RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import type { Logger } from 'pino';
import type { AwsConfig } from './settings.js';
import { DEFAULT_AMI_AMD64, DEFAULT_AMI_ARM64 } from './settings.js';
import { DdaError, isCapacityError } from '../../domain/errors.js';
import type { LaunchRequest, Market } from '../../ports/cloud-provider.js';
import type { LaunchAttempt } from '../../ports/lease.js';
import { CapacityMemory } from './capacity-memory.js';
import type { Ec2Api, RunInput } from './ec2-api.js';
import { toCloudError } from './errors.js';
import { TAG } from './tags.js';

export interface LaunchCandidate {
  instanceType: string;
  subnet?: string;
  market: Market;
}

/**
 * Preference order: market first (spot before on-demand when both are allowed — the fallback
 * exists to save money first), then instance type (the configured order is the operator's
 * preference), then subnet (spreads over availability zones).
 */
export function launchCandidates(instanceTypes: readonly string[], subnets: readonly string[], market: AwsConfig['market']): LaunchCandidate[] {
  const markets: Market[] = market === 'spot-then-on-demand' ? ['spot', 'on-demand'] : [market];
  const subs: (string | undefined)[] = subnets.length > 0 ? [...subnets] : [undefined];
  const out: LaunchCandidate[] = [];
  for (const m of markets) for (const t of instanceTypes) for (const s of subs) out.push(s === undefined ? { instanceType: t, market: m } : { instanceType: t, subnet: s, market: m });
  return out;
}

/**
 * RunInstances is idempotent per ClientToken, but the same token with different parameters is
 * an error (IdempotentParameterMismatch). One token per (key, candidate): a retried launch of
 * the same actor returns the instance it already got, and the fallback's next candidate is a
 * fresh request. At most 64 ASCII characters.
 */
export function clientToken(key: string, c: LaunchCandidate): string {
  const h = createHash('sha256').update(`${key}|${c.market}|${c.instanceType}|${c.subnet ?? ''}`).digest('hex').slice(0, 24);
  const prefix = key.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 39);
  return `${prefix}-${h}`;
}

/**
 * What repeats a request to this candidate (a launch intent's attempt). `now` is the request's
 * time, tagged on the instance: a repeat must send the same tags, or EC2 answers
 * IdempotentParameterMismatch instead of the instance.
 */
export function attemptOf(key: string, c: LaunchCandidate, now: number): LaunchAttempt {
  return { clientToken: clientToken(key, c), detail: { market: c.market, instanceType: c.instanceType, ...(c.subnet === undefined ? {} : { subnet: c.subnet }), at: String(now) } };
}

/** The candidate an attempt was made with; undefined when the attempt is not one of ours. */
export function candidateOf(a: LaunchAttempt): LaunchCandidate | undefined {
  const { market, instanceType, subnet } = a.detail;
  if ((market !== 'spot' && market !== 'on-demand') || !instanceType) return undefined;
  return subnet === undefined ? { instanceType, market } : { instanceType, subnet, market };
}

/**
 * A warm-pool member's market: on-demand, or with warm spot, spot first and on-demand when no
 * spot capacity is found (spot only if the daemon buys only spot).
 */
export function warmMarket(req: Pick<LaunchRequest, 'warmSpot'>, market: AwsConfig['market']): AwsConfig['market'] {
  if (!req.warmSpot) return 'on-demand';
  return market === 'spot' ? 'spot' : 'spot-then-on-demand';
}

export function amiFor(cfg: AwsConfig, pool: string, arch: string): string {
  return cfg.pools[pool]?.ami ?? cfg.ami ?? (arch === 'arm64' ? DEFAULT_AMI_ARM64 : DEFAULT_AMI_AMD64);
}

export function instanceTypesFor(cfg: AwsConfig, pool: string): string[] {
  return cfg.pools[pool]?.instanceTypes ?? cfg.instanceTypes;
}

export interface RunInputContext {
  cfg: AwsConfig;
  daemonId: string;
  req: LaunchRequest;
  userData: string;
  /** ms epoch, from the injected clock. */
  now: number;
}

export function launchTags(ctx: RunInputContext, market: Market): Tag[] {
  const iso = new Date(ctx.now).toISOString();
  return [
    { Key: 'Name', Value: `dda-${ctx.daemonId}-${ctx.req.pool}` },
    { Key: TAG.daemon, Value: ctx.daemonId },
    { Key: TAG.pool, Value: ctx.req.pool },
    { Key: TAG.key, Value: ctx.req.key },
    { Key: TAG.launchedAt, Value: iso },
    { Key: TAG.billingStart, Value: iso },
    { Key: TAG.market, Value: market },
    // Only on a warm-pool launch: a work launch is tagged exactly as before.
    ...(ctx.req.purpose === 'park' ? [{ Key: TAG.purpose, Value: 'park' }] : []),
    ...(persistentSpot(ctx, market) ? [{ Key: TAG.spotRequest, Value: 'persistent' }] : []),
  ];
}

/** A warm spot launch: a persistent request, so the instance can be stopped (parked) and started again. */
function persistentSpot(ctx: RunInputContext, market: Market): boolean {
  return market === 'spot' && ctx.req.purpose === 'park' && ctx.req.warmSpot !== undefined;
}

/**
 * Spot: a one-time request that terminates on interruption, or for a warm spot member a
 * persistent one that stops instead (a one-time spot instance cannot be stopped), ending at
 * the warm pool's maximum age so a forgotten request cannot outlive the member.
 */
function marketOptions(ctx: RunInputContext, c: LaunchCandidate): RunInput['InstanceMarketOptions'] {
  if (c.market !== 'spot') return undefined;
  const warm = ctx.req.warmSpot;
  if (persistentSpot(ctx, c.market) && warm) {
    return { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop', ValidUntil: new Date(ctx.now + warm.validSeconds * 1000), MaxPrice: ctx.cfg.spotMaxPrice } };
  }
  return { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', MaxPrice: ctx.cfg.spotMaxPrice } };
}

export function runInstancesInput(ctx: RunInputContext, c: LaunchCandidate): RunInput {
  const { cfg } = ctx;
  const tags = launchTags(ctx, c.market);
  const profile = cfg.instanceProfile;
  return {
    ImageId: amiFor(cfg, ctx.req.pool, ctx.req.demand.arch),
    InstanceType: c.instanceType as RunInstancesCommandInput['InstanceType'],
    SubnetId: c.subnet,
    SecurityGroupIds: cfg.securityGroups.length > 0 ? cfg.securityGroups : undefined,
    IamInstanceProfile: profile === undefined ? undefined : profile.startsWith('arn:') ? { Arn: profile } : { Name: profile },
    ClientToken: clientToken(ctx.req.key, c),
    UserData: Buffer.from(ctx.userData, 'utf8').toString('base64'),
    // The watchdog's `shutdown` must end the bill, not park a stopped instance.
    InstanceInitiatedShutdownBehavior: 'terminate',
    // IMDSv2 only; hop limit 1 keeps bridge-network containers away from the instance role.
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [{ DeviceName: cfg.rootDevice, Ebs: { VolumeSize: cfg.volumeSizeGiB, VolumeType: cfg.volumeType as 'gp3', DeleteOnTermination: true } }],
    InstanceMarketOptions: marketOptions(ctx, c),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
      // A warm spot request carries our tags too, so IAM can let us cancel only our own.
      ...(persistentSpot(ctx, c.market) ? [{ ResourceType: 'spot-instances-request' as const, Tags: tags }] : []),
    ],
  };
}

export interface Launched {
  instance: Instance;
  candidate: LaunchCandidate;
}

/**
 * Try candidates in order. Capacity and limit errors move on to the next candidate and are
 * remembered; anything else stops the launch at once (retrying a bad AMI in every subnet only
 * multiplies the noise). When every candidate failed or is still remembered as failing, the
 * last capacity error is thrown so the lifecycle records a capacity failure.
 */
export async function launchWithFallback(args: {
  ec2: Ec2Api;
  memory: CapacityMemory;
  candidates: LaunchCandidate[];
  input: (c: LaunchCandidate) => RunInput;
  logger: Logger;
  key: string;
  signal?: AbortSignal;
  /** Awaited before each RunInstances (the launch intent is recorded there). */
  onAttempt?: ((c: LaunchCandidate) => Promise<void>) | undefined;
}): Promise<Launched> {
  const { ec2, memory, candidates, logger, key, signal } = args;
  const attempts: string[] = [];
  let last: DdaError | undefined;
  let skipped = 0;
  for (const c of candidates) {
    const where = `${c.market}/${c.instanceType}/${c.subnet ?? 'default'}`;
    if (memory.blockedUntil(c.instanceType, c.subnet, c.market) !== undefined) {
      skipped++;
      continue;
    }
    signal?.throwIfAborted();
    if (args.onAttempt) await args.onAttempt(c);
    try {
      const instance = await ec2.runInstance(args.input(c), signal);
      if (attempts.length > 0) logger.info({ key, candidate: where, failed: attempts }, 'launched after capacity fallback');
      return { instance, candidate: c };
    } catch (e) {
      const err = toCloudError(e, 'RunInstances', { key, instanceType: c.instanceType, subnet: c.subnet, market: c.market });
      if (!isCapacityError(err)) {
        logger.warn({ key, candidate: where, code: err.code, err: err.message }, 'launch failed');
        throw err;
      }
      const aws = String(err.details['awsError'] ?? '');
      // Account-wide limits do not depend on the subnet; the spot-count limit not even on the type.
      if (aws === 'MaxSpotInstanceCountExceeded') memory.remember('*', undefined, c.market);
      else if (err.code === 'CLOUD_LIMIT') memory.remember(c.instanceType, undefined, c.market);
      else memory.remember(c.instanceType, c.subnet, c.market);
      attempts.push(`${where}: ${aws}`);
      logger.info({ key, candidate: where, code: err.code, awsError: aws }, 'launch candidate has no capacity; trying the next');
      last = err;
    }
  }
  const detail = { key, attempts, skipped };
  if (last) throw new DdaError(last.code, `RunInstances: no candidate had capacity (${attempts.length} tried, ${skipped} skipped as recently failed)`, { ...detail, last: last.message });
  throw new DdaError('CLOUD_CAPACITY', `RunInstances: every candidate failed recently (${skipped} skipped); try again later`, detail);
}
