import type { Instance, SpotInstanceRequest } from '@aws-sdk/client-ec2';
import type { ContainerInstance, Task } from '@aws-sdk/client-ecs';
import type { AgentState, Market, ObservedInstance } from '../../ports/cloud-provider.js';
import { TAG, tagValue } from './tags.js';

/**
 * Turning raw Describe* answers into the port's ObservedInstance — pure, so the mapping rules
 * (which task wins, what counts as interrupted) are tested without any cloud.
 */

const INSTANCE_STATES = new Set<ObservedInstance['state']>(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']);

/**
 * Spot request status codes that mean "this instance is being taken away".
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-request-status.html
 */
export const SPOT_INTERRUPTION_CODES = new Set([
  'marked-for-termination',
  'marked-for-stop',
  'marked-for-hibernation',
  'instance-terminated-by-price',
  'instance-terminated-no-capacity',
  'instance-terminated-capacity-oversubscribed',
  'instance-terminated-launch-group-constraint',
  'instance-stopped-by-price',
  'instance-stopped-no-capacity',
  'instance-stopped-capacity-oversubscribed',
]);
/** Instance state-reason codes for an instance AWS reclaimed. */
export const SPOT_STATE_REASONS = new Set(['Server.SpotInstanceTermination', 'Server.SpotInstanceShutdown']);

/** Registered = can take a task placement or is draining one. */
const REGISTERED = new Set(['ACTIVE', 'DRAINING']);

/**
 * Task lastStatus → agent state. DEACTIVATING and STOPPING still count as running: SIGTERM has
 * been (or is about to be) sent, but the container may be finishing a build within its stop
 * timeout, and "stopped" is what lets the lifecycle terminate the instance.
 */
export function agentStateOf(task: Pick<Task, 'lastStatus'>): AgentState {
  switch (task.lastStatus) {
    case 'PROVISIONING':
    case 'PENDING':
    case 'ACTIVATING':
      return 'pending';
    case 'RUNNING':
    case 'DEACTIVATING':
    case 'STOPPING':
      return 'running';
    case 'DEPROVISIONING':
    case 'STOPPED':
      return 'stopped';
    default:
      return 'pending';
  }
}

const AGENT_RANK: Record<AgentState, number> = { none: 0, stopped: 1, pending: 2, running: 3 };

export interface ContainerInstanceView {
  arn: string;
  status: string;
  /** The ECS agent on it is connected (false while its instance is stopped or starting again). */
  connected: boolean;
}

/** ec2InstanceId → its container instance; a live registration wins over an old INACTIVE one. */
export function containerInstancesByEc2Id(items: readonly ContainerInstance[]): Map<string, ContainerInstanceView> {
  const out = new Map<string, ContainerInstanceView>();
  for (const ci of items) {
    if (!ci.ec2InstanceId || !ci.containerInstanceArn) continue;
    const view = { arn: ci.containerInstanceArn, status: ci.status ?? 'UNKNOWN', connected: ci.agentConnected !== false };
    const prev = out.get(ci.ec2InstanceId);
    if (!prev || (!REGISTERED.has(prev.status) && REGISTERED.has(view.status))) out.set(ci.ec2InstanceId, view);
  }
  return out;
}

export function isRegistered(ci: Pick<ContainerInstanceView, 'status'> | undefined): boolean {
  return ci !== undefined && REGISTERED.has(ci.status);
}

export interface FleetFacts {
  daemonId: string;
  instances: readonly Instance[];
  containerInstances: readonly ContainerInstance[];
  /** Tasks started by this daemon. */
  tasks: readonly Task[];
  spotRequests: readonly SpotInstanceRequest[];
  prices: Readonly<Record<string, number>>;
  defaultPricePerHour: number;
  /** ms epoch, from the injected clock: stands in for notice times AWS does not give. */
  now: number;
  /** What a launch would use now; an instance that differs reports `drift`. Absent: no drift check. */
  launchSettings?: LaunchSettings;
  /** Root volume size of our launches (GB): what an instance's disk costs while parked. */
  storageGb?: number;
}

export interface LaunchSettings {
  /** The configured image for a pool and arch (`amd64` | `arm64`); a `resolve:ssm:` value cannot be compared without a lookup and is not. */
  ami(pool: string, arch: string): string | undefined;
  instanceTypes(pool: string): readonly string[];
}

/** Why an instance no longer matches what a launch would give now; undefined when it matches. */
export function driftOf(i: Instance, pool: string, s: LaunchSettings): string | undefined {
  const reasons: string[] = [];
  const arch = i.Architecture === 'arm64' ? 'arm64' : 'amd64';
  const ami = s.ami(pool, arch);
  if (ami !== undefined && ami.startsWith('ami-') && i.ImageId !== undefined && i.ImageId !== ami) reasons.push(`image ${i.ImageId} is not the configured ${ami}`);
  const types = s.instanceTypes(pool);
  if (i.InstanceType !== undefined && types.length > 0 && !types.includes(i.InstanceType)) reasons.push(`instance type ${i.InstanceType} is not among the configured ${types.join(',')}`);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** A parked-at tag counts while the instance is stopped, stopping, or starting again after an unpark not yet finished. */
const PARKED_STATES = new Set(['stopping', 'stopped', 'pending']);
const LIVE_STATES = new Set(['pending', 'running', 'stopping', 'stopped']);

function parseTime(v: Date | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v instanceof Date ? v.getTime() : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

export function observeFleet(f: FleetFacts): ObservedInstance[] {
  const byEc2 = containerInstancesByEc2Id(f.containerInstances);
  const ec2ByCi = new Map<string, string>();
  for (const ci of f.containerInstances) if (ci.containerInstanceArn && ci.ec2InstanceId) ec2ByCi.set(ci.containerInstanceArn, ci.ec2InstanceId);

  const agentOf = new Map<string, { state: AgentState; stopping: boolean }>();
  for (const t of f.tasks) {
    const ec2Id = t.containerInstanceArn ? ec2ByCi.get(t.containerInstanceArn) : undefined;
    if (!ec2Id) continue;
    const state = agentStateOf(t);
    const stopping = t.desiredStatus === 'STOPPED' && state !== 'stopped';
    const prev = agentOf.get(ec2Id);
    if (!prev || AGENT_RANK[state] > AGENT_RANK[prev.state]) agentOf.set(ec2Id, { state, stopping });
  }

  const noticeOf = new Map<string, number>();
  for (const r of f.spotRequests) {
    if (!r.InstanceId || !r.Status?.Code || !SPOT_INTERRUPTION_CODES.has(r.Status.Code)) continue;
    noticeOf.set(r.InstanceId, parseTime(r.Status.UpdateTime) ?? f.now);
  }

  const out: ObservedInstance[] = [];
  for (const i of f.instances) {
    // The describe filter already asks for our tag; checking again is the fence that matters.
    if (!i.InstanceId || tagValue(i.Tags, TAG.daemon) !== f.daemonId) continue;
    const stateName = i.State?.Name as ObservedInstance['state'] | undefined;
    if (!stateName || !INSTANCE_STATES.has(stateName)) continue;
    const instanceType = i.InstanceType ?? 'unknown';
    const market: Market = i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand';
    const ci = byEc2.get(i.InstanceId);
    const agent = agentOf.get(i.InstanceId);
    const o: ObservedInstance = {
      instanceId: i.InstanceId,
      // An instance tagged by hand (no key) is still ours to account for: its id is a stable key.
      key: tagValue(i.Tags, TAG.key) ?? i.InstanceId,
      pool: tagValue(i.Tags, TAG.pool) ?? '',
      state: stateName,
      instanceType,
      market,
      pricePerHour: f.prices[instanceType] ?? f.defaultPricePerHour,
      launchedAt: parseTime(i.LaunchTime) ?? parseTime(tagValue(i.Tags, TAG.billingStart)) ?? f.now,
      // A parked instance keeps its registration with its agent disconnected; once started again
      // it can take a task only when its agent has reconnected.
      registered: isRegistered(ci) && (ci?.connected === true || (stateName !== 'pending' && stateName !== 'running')),
      agent: agent?.state ?? 'none',
      draining: ci?.status === 'DRAINING' || (agent?.stopping ?? false),
    };
    const notice = noticeOf.get(i.InstanceId) ?? (i.StateReason?.Code && SPOT_STATE_REASONS.has(i.StateReason.Code) ? f.now : undefined);
    if (notice !== undefined) o.interruptionAt = notice;
    const parkedTag = tagValue(i.Tags, TAG.parkedAt);
    const parkedAt = parkedTag !== undefined && /^\d+$/.test(parkedTag) ? Number(parkedTag) : undefined;
    if (parkedAt !== undefined && PARKED_STATES.has(stateName)) o.parkedAt = parkedAt;
    // Until first parked (the parked-at tag wins over a purpose tag a crash left behind).
    if (tagValue(i.Tags, TAG.purpose) === 'park' && parkedTag === undefined && LIVE_STATES.has(stateName)) o.priming = true;
    if (LIVE_STATES.has(stateName)) {
      if (f.storageGb !== undefined) o.storageGb = f.storageGb;
      const drift = f.launchSettings ? driftOf(i, o.pool, f.launchSettings) : undefined;
      if (drift !== undefined) o.drift = drift;
    }
    out.push(o);
  }
  return out;
}
