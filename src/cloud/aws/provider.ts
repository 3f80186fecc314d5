import { createHash } from 'node:crypto';
import type { Instance } from '@aws-sdk/client-ec2';
import type { ContainerInstance, Failure, Task } from '@aws-sdk/client-ecs';
import type { Logger } from 'pino';
import type { AwsConfig } from './settings.js';
import type { Clock } from '../../domain/clock.js';
import { DdaError, type ErrorCode } from '../../domain/errors.js';
import type { AgentSpec } from '../../ports/agent-spec.js';
import type { CloudProvider, FleetSnapshot, LaunchRequest, LaunchResult, ReapOptions, ReapedResource } from '../../ports/cloud-provider.js';
import { DEFAULT_REAP_MAX_SHARE, reapHold } from '../reap-breaker.js';
import { CapacityMemory } from './capacity-memory.js';
import type { Ec2Api } from './ec2-api.js';
import type { EcsApi } from './ecs-api.js';
import { toCloudError } from './errors.js';
import { agentStateOf, containerInstancesByEc2Id, isRegistered, observeFleet, type ContainerInstanceView, type LaunchSettings } from './fleet.js';
import { amiFor, attemptOf, candidateOf, instanceTypesFor, launchCandidates, launchWithFallback, runInstancesInput, warmMarket, type LaunchCandidate } from './launch.js';
import { TAG, ecsTagValue, tagValue } from './tags.js';
import { AGENT_CONTAINER, buildTaskDefinition, specHash } from './task-definition.js';
import { buildUserData } from './user-data.js';

export interface AwsProviderDeps {
  cfg: AwsConfig;
  ec2: Ec2Api;
  ecs: EcsApi;
  clock: Clock;
  logger: Logger;
  daemonId: string;
  agents: (pool: string) => AgentSpec;
  /** The lifecycle's boot deadline; the watchdog never fires before it. */
  bootTimeoutSeconds?: number;
}

/**
 * ECS `startedBy` takes at most 36 of [A-Za-z0-9_/-]; the daemon id allows more, so a long or
 * dotted id is replaced by a stable hash of it.
 */
export function startedByFor(daemonId: string): string {
  if (/^[A-Za-z0-9_-]{1,36}$/.test(daemonId)) return daemonId;
  return `dda-${createHash('sha256').update(daemonId).digest('hex').slice(0, 32)}`;
}

const GONE_STATES = new Set(['shutting-down', 'terminated']);

/** Launched as warm spot (a persistent request that stops on interruption): it may be parked, and its request is cancelled before a terminate. */
const isPersistentSpot = (i: Instance) => i.InstanceLifecycle === 'spot' && tagValue(i.Tags, TAG.spotRequest) === 'persistent';

/**
 * CloudProvider for EC2 instances running the CI agent as an ECS task. It carries out what the
 * statecharts decide and never decides itself. Every mutating call first checks that the
 * instance carries this daemon's tag: two daemons sharing an account or a cluster never touch
 * each other's fleet.
 */
export class AwsCloudProvider implements CloudProvider {
  readonly kind = 'aws';
  private readonly memory: CapacityMemory;
  private readonly log: Logger;
  private readonly startedBy: string;
  private readonly taskDefs = new Map<string, { hash: string; arn: Promise<string> }>();

  constructor(private readonly d: AwsProviderDeps) {
    this.memory = new CapacityMemory(d.clock, d.cfg.capacityBackoffSeconds * 1000);
    this.log = d.logger.child({ name: 'cloud.aws' });
    this.startedBy = startedByFor(d.daemonId);
  }

  async launch(req: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
    const { cfg, daemonId, clock } = this.d;
    const spec = this.d.agents(req.pool);
    const park = req.purpose === 'park';
    let userData: string;
    try {
      userData = buildUserData({
        cluster: cfg.cluster,
        stopTimeoutSeconds: spec.stopTimeoutSeconds,
        watchdogIdleMinutes: this.watchdogMinutes(),
        watchdogMaxHours: this.d.cfg.watchdogMaxHours,
        prefetchImage: park ? spec.image : undefined,
      });
    } catch (e) {
      throw new DdaError('CONFIG_INVALID', `user data for pool ${req.pool}: ${e instanceof Error ? e.message : String(e)}`, { pool: req.pool });
    }
    // A repeated request goes to the candidate it went to, under the same ClientToken and tags.
    const repeatedAt = Number(req.repeat?.detail['at']);
    const ctx = { cfg, daemonId, req, userData, now: req.repeat && Number.isFinite(repeatedAt) ? repeatedAt : clock.now() };
    let candidates: LaunchCandidate[];
    if (req.repeat) {
      const c = candidateOf(req.repeat);
      if (!c) throw new DdaError('CLOUD_FAILED', `launch ${req.key}: cannot repeat a request with no market and instance type`, { key: req.key });
      candidates = [c];
    } else {
      candidates = launchCandidates(instanceTypesFor(cfg, req.pool), cfg.subnets, park ? warmMarket(req, cfg.market) : cfg.market);
    }
    const onAttempt = req.onAttempt;
    const { instance, candidate } = await launchWithFallback({
      ec2: this.d.ec2,
      memory: this.memory,
      candidates,
      input: (c) => runInstancesInput(ctx, c),
      logger: this.log,
      key: req.key,
      signal,
      onAttempt: onAttempt && ((c) => onAttempt(attemptOf(req.key, c, ctx.now))),
    });
    const instanceType = instance.InstanceType ?? candidate.instanceType;
    const result: LaunchResult = {
      instanceId: instance.InstanceId!,
      instanceType,
      market: candidate.market,
      pricePerHour: cfg.prices[instanceType] ?? cfg.defaultPricePerHour,
      launchedAt: instance.LaunchTime?.getTime() ?? ctx.now,
    };
    this.log.info({ key: req.key, pool: req.pool, instanceId: result.instanceId, instanceType, market: result.market, subnet: candidate.subnet, ...(park ? { purpose: 'park' } : {}) }, 'instance launched');
    return result;
  }

  async describe(signal?: AbortSignal): Promise<FleetSnapshot> {
    const [instances, containerInstances, tasks] = await Promise.all([this.ourInstances(signal), this.containerInstances(signal), this.ourTasks(signal)]);
    const spotIds = instances.filter((i) => i.InstanceLifecycle === 'spot' && i.InstanceId && !GONE_STATES.has(i.State?.Name ?? '')).map((i) => i.InstanceId!);
    const spotRequests = spotIds.length === 0 ? [] : await this.call('DescribeSpotInstanceRequests', {}, () => this.d.ec2.describeSpotInstanceRequests(spotIds, signal));
    const at = this.d.clock.now();
    return {
      at,
      instances: observeFleet({
        daemonId: this.d.daemonId,
        instances,
        containerInstances,
        tasks,
        spotRequests,
        prices: this.d.cfg.prices,
        defaultPricePerHour: this.d.cfg.defaultPricePerHour,
        now: at,
        launchSettings: this.launchSettings,
        // The launch's root volume: DescribeInstances does not give volume sizes, and a
        // DescribeVolumes per poll for a cost estimate is not worth its calls.
        storageGb: this.d.cfg.volumeSizeGiB,
      }),
    };
  }

  async startAgent(instanceId: string, agentName: string, pool: string, signal?: AbortSignal): Promise<void> {
    const inst = await this.ownInstance(instanceId, signal);
    if (!inst || GONE_STATES.has(inst.State?.Name ?? '')) throw new DdaError('CLOUD_NOT_FOUND', `startAgent: instance ${instanceId} is gone`, { instanceId });
    const ci = await this.containerInstanceOf(instanceId, signal);
    if (!ci || ci.status !== 'ACTIVE') {
      throw new DdaError('CLOUD_FAILED', `startAgent: instance ${instanceId} has no ACTIVE container instance in cluster ${this.d.cfg.cluster}`, { instanceId, status: ci?.status ?? 'none' });
    }
    // Idempotent: a retried command must not start a second agent on the same instance.
    const live = (await this.ourTasksOn(ci.arn, signal)).filter((t) => t.desiredStatus !== 'STOPPED');
    if (live.length > 0) {
      this.log.info({ instanceId, agentName, task: live[0]!.taskArn }, 'agent task already started');
      return;
    }
    const spec = this.d.agents(pool);
    const taskDefinition = await this.taskDefinitionArn(pool, spec, signal);
    const res = await this.call('StartTask', { instanceId, pool }, () =>
      this.d.ecs.startTask(
        {
          taskDefinition,
          containerInstances: [ci.arn],
          startedBy: this.startedBy,
          overrides: { containerOverrides: [{ name: AGENT_CONTAINER, environment: [{ name: spec.nameVariable, value: agentName }] }] },
          tags: [
            { key: TAG.daemon, value: this.d.daemonId },
            { key: TAG.pool, value: pool },
            { key: 'dda:instance', value: instanceId },
            { key: 'dda:agent', value: agentName },
          ],
        },
        signal,
      ),
    );
    if (res.tasks.length === 0) throw this.failure('StartTask', res.failures, { instanceId, pool });
    this.log.info({ instanceId, agentName, pool, task: res.tasks[0]!.taskArn }, 'agent task started');
  }

  async drainAgent(instanceId: string, stopAgent: boolean, signal?: AbortSignal): Promise<void> {
    const inst = await this.ownInstance(instanceId, signal);
    if (!inst) return; // already gone: nothing left to drain
    const ci = await this.containerInstanceOf(instanceId, signal);
    if (!ci) {
      this.log.info({ instanceId }, 'drain: no container instance registered; nothing to drain');
      return;
    }
    if (ci.status === 'ACTIVE') {
      const res = await this.call('UpdateContainerInstancesState', { instanceId }, () => this.d.ecs.updateContainerInstancesState([ci.arn], 'DRAINING', signal));
      const failures = res.failures.filter((f) => f.reason !== 'MISSING');
      if (failures.length > 0) throw this.failure('UpdateContainerInstancesState', failures, { instanceId });
    }
    if (stopAgent) {
      for (const t of await this.ourTasksOn(ci.arn, signal)) {
        if (t.desiredStatus === 'STOPPED' || !t.taskArn) continue;
        await this.call('StopTask', { instanceId, task: t.taskArn }, () => this.d.ecs.stopTask(t.taskArn!, 'dda: drain', signal));
      }
    }
    this.log.info({ instanceId, stopAgent }, 'agent draining');
  }

  async terminate(instanceId: string, signal?: AbortSignal): Promise<void> {
    const inst = await this.ownInstance(instanceId, signal);
    if (!inst) return; // NotFound: already gone
    if (inst.State?.Name !== 'terminated') {
      await this.cancelPersistentSpot(inst, signal);
      await this.call('TerminateInstances', { instanceId }, () => this.d.ec2.terminateInstances([instanceId], signal), ['CLOUD_NOT_FOUND']).catch((e: unknown) => {
        if (!(e instanceof DdaError && e.code === 'CLOUD_NOT_FOUND')) throw e;
      });
    }
    // The instance is already on its way out; a failed cleanup here is left to reapOrphans
    // rather than reported as a failed terminate (which would make the lifecycle retry it).
    try {
      const ci = await this.containerInstanceOf(instanceId, signal);
      if (ci && isRegistered(ci)) await this.retire(ci, instanceId, 'terminated', signal);
    } catch (e) {
      this.log.warn({ instanceId, err: e instanceof Error ? e.message : String(e) }, 'terminate: container instance cleanup failed; the reaper will retry');
    }
    this.log.info({ instanceId }, 'instance terminated');
  }

  /**
   * Park: stop the instance, keeping its disk (image cache) and its container-instance
   * registration. Tagged `dda:parked-at` before the stop, so a daemon that dies mid-way still
   * finds it parked. The daemon drains an agent before parking it; if one of our agent tasks is
   * still there it is stopped (StopTask) and the park refused until it has stopped, as stopping
   * the machine would kill a build mid-way.
   */
  async park(instanceId: string, signal?: AbortSignal): Promise<void> {
    const inst = await this.ownInstance(instanceId, signal);
    const state = inst?.State?.Name ?? '';
    if (!inst || GONE_STATES.has(state)) throw new DdaError('CLOUD_NOT_FOUND', `park: instance ${instanceId} is gone`, { instanceId, state });
    if (inst.InstanceLifecycle === 'spot' && !isPersistentSpot(inst)) {
      throw new DdaError('CLOUD_FAILED', `park: instance ${instanceId} is a one-time spot instance; only on-demand and warm spot (persistent) instances are parked`, { instanceId });
    }
    const parkedTag = tagValue(inst.Tags, TAG.parkedAt);
    if (state === 'stopped' || state === 'stopping') {
      // A retried park (or the daemon claiming an instance it stopped): only the tags are left to do.
      if (parkedTag === undefined) await this.call('CreateTags', { instanceId }, () => this.d.ec2.createTags(instanceId, { [TAG.parkedAt]: String(this.d.clock.now()) }, signal));
      await this.endPriming(inst, signal);
      return;
    }
    const ci = await this.containerInstanceOf(instanceId, signal);
    if (ci) {
      const live = (await this.tasksOn(ci.arn, true, signal)).filter((t) => agentStateOf(t) !== 'stopped');
      for (const t of live) {
        if (t.desiredStatus === 'STOPPED' || !t.taskArn) continue;
        await this.call('StopTask', { instanceId, task: t.taskArn }, () => this.d.ecs.stopTask(t.taskArn!, 'dda: parking the instance', signal));
      }
      const still = live.length === 0 ? [] : (await this.tasksOn(ci.arn, true, signal)).filter((t) => agentStateOf(t) !== 'stopped');
      if (still.length > 0) {
        throw new DdaError('CLOUD_FAILED', `park: the agent task on ${instanceId} has not stopped yet (it may be finishing a build); park it once it has`, {
          instanceId,
          reason: 'agent-running',
          tasks: still.map((t) => t.taskArn),
        });
      }
      // A drained container instance would refuse the next agent once started again.
      if (ci.status === 'DRAINING') {
        const res = await this.call('UpdateContainerInstancesState', { instanceId }, () => this.d.ecs.updateContainerInstancesState([ci.arn], 'ACTIVE', signal));
        if (res.failures.length > 0) throw this.failure('UpdateContainerInstancesState', res.failures, { instanceId });
      }
    }
    const at = this.d.clock.now();
    await this.call('CreateTags', { instanceId }, () => this.d.ec2.createTags(instanceId, { [TAG.parkedAt]: String(at) }, signal));
    await this.call('StopInstances', { instanceId }, () => this.d.ec2.stopInstance(instanceId, signal));
    await this.endPriming(inst, signal);
    this.log.info({ instanceId, parkedAt: at }, 'instance parked');
  }

  /**
   * Unpark: start a parked instance. Its agent reconnects under the same container instance
   * (`registered` comes back once it has). No room for its type in its zone now: CLOUD_CAPACITY,
   * and the (type, subnet) is remembered like a failed launch, so the cold launch that replaces
   * it tries elsewhere first.
   */
  async unpark(instanceId: string, signal?: AbortSignal): Promise<void> {
    const inst = await this.ownInstance(instanceId, signal);
    const state = inst?.State?.Name ?? '';
    if (!inst || GONE_STATES.has(state)) throw new DdaError('CLOUD_NOT_FOUND', `unpark: instance ${instanceId} is gone`, { instanceId, state });
    if (state === 'stopping') throw new DdaError('CLOUD_FAILED', `unpark: instance ${instanceId} is still stopping; start it once stopped`, { instanceId, state });
    if (state === 'stopped') {
      const instanceType = inst.InstanceType ?? 'unknown';
      try {
        await this.call('StartInstances', { instanceId, instanceType }, () => this.d.ec2.startInstance(instanceId, signal));
      } catch (e) {
        if (e instanceof DdaError && e.code === 'CLOUD_CAPACITY') {
          const subnet = inst.SubnetId !== undefined && this.d.cfg.subnets.includes(inst.SubnetId) ? inst.SubnetId : undefined;
          this.memory.remember(instanceType, subnet, 'on-demand');
        }
        throw e;
      }
    }
    // Started (or a retry finding it started): it is no longer parked, nor priming.
    const stale = [TAG.parkedAt, TAG.purpose].filter((k) => tagValue(inst.Tags, k) !== undefined);
    if (stale.length > 0) await this.call('DeleteTags', { instanceId }, () => this.d.ec2.deleteTags(instanceId, stale, signal));
    this.log.info({ instanceId }, 'instance unparked');
  }

  /**
   * Container instances whose EC2 instance is terminated (or has vanished), and agent tasks on
   * no live container instance — this daemon's only, in its cluster only. A container instance
   * is ours when it carries our tag (propagated from the instance by the ECS agent) or belongs
   * to an instance carrying it.
   */
  async reapOrphans(signal?: AbortSignal, opts: ReapOptions = {}): Promise<ReapedResource[]> {
    const reaped: ReapedResource[] = [];
    const instances = await this.ourInstances(signal);
    const stateOf = new Map(instances.map((i) => [i.InstanceId ?? '', i.State?.Name ?? '']));
    const cis = await this.containerInstances(signal);
    const live = new Set<string>();
    const dead: { ci: ContainerInstance & { containerInstanceArn: string; ec2InstanceId: string }; reason: string }[] = [];
    let ours = 0;
    for (const ci of cis) {
      if (!ci.containerInstanceArn || !ci.ec2InstanceId || !isRegistered({ status: ci.status ?? '' })) continue;
      if (ecsTagValue(ci.tags, TAG.daemon) !== this.d.daemonId && !stateOf.has(ci.ec2InstanceId)) continue;
      ours++;
      const state = stateOf.get(ci.ec2InstanceId);
      if (state !== undefined && !GONE_STATES.has(state)) {
        live.add(ci.containerInstanceArn);
        continue;
      }
      dead.push({ ci: ci as (typeof dead)[number]['ci'], reason: state === undefined ? 'its EC2 instance no longer exists' : `its EC2 instance is ${state}` });
    }
    const retiring = new Set(dead.map((d) => d.ci.containerInstanceArn));
    const tasks = (await this.ourTasks(signal, false)).filter((t) => t.taskArn && t.desiredStatus !== 'STOPPED');
    // Tasks on a retiring container instance are counted (and stopped) with it.
    const stray = tasks.filter((t) => !(t.containerInstanceArn && (live.has(t.containerInstanceArn) || retiring.has(t.containerInstanceArn))));
    // Decided before anything is touched: a strange answer must not end half the fleet either.
    const held = reapHold(
      [
        { what: 'container instances', candidates: dead.length, total: ours },
        { what: 'agent tasks', candidates: stray.length, total: tasks.length },
      ],
      opts.maxShare ?? DEFAULT_REAP_MAX_SHARE,
    );
    if (held !== null) {
      this.log.warn({ containerInstances: ours, deadContainerInstances: dead.length, tasks: tasks.length, strayTasks: stray.length, reapMaxShare: opts.maxShare ?? DEFAULT_REAP_MAX_SHARE }, held);
      return [];
    }
    for (const { ci, reason } of dead) {
      const stopped = await this.retire({ arn: ci.containerInstanceArn, status: ci.status ?? '' }, ci.ec2InstanceId, 'reaped', signal);
      for (const task of stopped) reaped.push({ kind: 'task', id: task, reason: `its container instance was reaped (${reason})` });
      reaped.push({ kind: 'container-instance', id: ci.containerInstanceArn, reason });
    }
    for (const t of stray) {
      await this.call('StopTask', { task: t.taskArn }, () => this.d.ecs.stopTask(t.taskArn!, 'dda: orphan (no live container instance)', signal));
      reaped.push({ kind: 'task', id: t.taskArn!, reason: 'no live container instance' });
    }
    // Logged by the runtime's reaper, once per resource however many rounds still list it.
    return reaped;
  }

  // — helpers —

  private readonly launchSettings: LaunchSettings = {
    ami: (pool, arch) => amiFor(this.d.cfg, pool, arch),
    instanceTypes: (pool) => instanceTypesFor(this.d.cfg, pool),
  };

  /** Parked at least once: the priming tag goes (after the stop, so a crash in between still reads as parked). */
  private async endPriming(inst: Instance, signal?: AbortSignal): Promise<void> {
    if (tagValue(inst.Tags, TAG.purpose) === undefined) return;
    await this.call('DeleteTags', { instanceId: inst.InstanceId }, () => this.d.ec2.deleteTags(inst.InstanceId!, [TAG.purpose], signal));
  }

  private watchdogMinutes(): number {
    const m = this.d.cfg.watchdogIdleMinutes;
    if (m <= 0) return 0;
    // Never end an instance the daemon is still waiting on to boot.
    return Math.max(m, Math.ceil((this.d.bootTimeoutSeconds ?? 0) / 60) + 5);
  }

  /** Stop our tasks on a container instance, then deregister it. Returns the stopped task ARNs. */
  private async retire(ci: Pick<ContainerInstanceView, 'arn' | 'status'>, instanceId: string, why: string, signal?: AbortSignal): Promise<string[]> {
    const stopped: string[] = [];
    // Stop first: a force-deregistered container instance leaves its tasks orphaned.
    for (const t of await this.ourTasksOn(ci.arn, signal)) {
      if (t.desiredStatus === 'STOPPED' || !t.taskArn) continue;
      await this.call('StopTask', { instanceId, task: t.taskArn }, () => this.d.ecs.stopTask(t.taskArn!, `dda: instance ${why}`, signal));
      stopped.push(t.taskArn);
    }
    await this.call('DeregisterContainerInstance', { instanceId, containerInstance: ci.arn }, () => this.d.ecs.deregisterContainerInstance(ci.arn, signal));
    return stopped;
  }

  /** Wraps one AWS call: maps its error and logs it with the action, unless the code is expected. */
  private async call<T>(action: string, details: Record<string, unknown>, fn: () => Promise<T>, expected: ErrorCode[] = []): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = toCloudError(e, action, details);
      if (!expected.includes(err.code)) this.log.warn({ ...details, action, code: err.code, err: err.message }, 'AWS call failed');
      throw err;
    }
  }

  private failure(action: string, failures: Failure[], details: Record<string, unknown>): DdaError {
    const reasons = failures.map((f) => f.reason ?? 'unknown').join(', ') || 'no result';
    const code: ErrorCode = failures.some((f) => f.reason === 'MISSING') ? 'CLOUD_NOT_FOUND' : 'CLOUD_FAILED';
    const err = new DdaError(code, `${action}: ${reasons}`, { ...details, action, reasons });
    this.log.warn({ ...details, action, code, reasons }, 'AWS call failed');
    return err;
  }

  private ourInstances(signal?: AbortSignal): Promise<Instance[]> {
    return this.call('DescribeInstances', {}, () => this.d.ec2.describeInstances({ filters: [{ Name: `tag:${TAG.daemon}`, Values: [this.d.daemonId] }] }, signal));
  }

  /** The instance if it exists and is ours; undefined if AWS does not know it; throws if it is someone else's. */
  /**
   * A warm spot instance's persistent request is cancelled first: terminated under an open
   * request, EC2 would launch another. The request id is on the instance; failing that, the
   * requests listed for it. A request already gone (cancelled, expired) is fine.
   */
  private async cancelPersistentSpot(inst: Instance, signal?: AbortSignal): Promise<void> {
    if (!isPersistentSpot(inst)) return;
    const instanceId = inst.InstanceId!;
    let ids = inst.SpotInstanceRequestId ? [inst.SpotInstanceRequestId] : [];
    if (ids.length === 0) {
      const listed = await this.call('DescribeSpotInstanceRequests', { instanceId }, () => this.d.ec2.describeSpotInstanceRequests([instanceId], signal));
      ids = listed.filter((r) => r.State !== 'cancelled' && r.State !== 'closed').flatMap((r) => (r.SpotInstanceRequestId ? [r.SpotInstanceRequestId] : []));
    }
    if (ids.length === 0) {
      this.log.warn({ instanceId }, 'terminate: a warm spot instance with no spot request to cancel (already cancelled or expired)');
      return;
    }
    await this.call('CancelSpotInstanceRequests', { instanceId, spotRequests: ids }, () => this.d.ec2.cancelSpotInstanceRequests(ids, signal), ['CLOUD_NOT_FOUND']).catch((e: unknown) => {
      if (!(e instanceof DdaError && e.code === 'CLOUD_NOT_FOUND')) throw e;
    });
    this.log.info({ instanceId, spotRequests: ids }, 'spot request cancelled before terminate');
  }

  private async ownInstance(instanceId: string, signal?: AbortSignal): Promise<Instance | undefined> {
    let found: Instance[];
    try {
      found = await this.call('DescribeInstances', { instanceId }, () => this.d.ec2.describeInstances({ instanceIds: [instanceId] }, signal), ['CLOUD_NOT_FOUND']);
    } catch (e) {
      if (e instanceof DdaError && e.code === 'CLOUD_NOT_FOUND') return undefined;
      throw e;
    }
    const inst = found.find((i) => i.InstanceId === instanceId);
    if (!inst) return undefined;
    if (tagValue(inst.Tags, TAG.daemon) !== this.d.daemonId) {
      throw new DdaError('CLOUD_FAILED', `instance ${instanceId} does not carry ${TAG.daemon}=${this.d.daemonId}; refusing to touch it`, { instanceId });
    }
    return inst;
  }

  private async containerInstances(signal?: AbortSignal): Promise<ContainerInstance[]> {
    const arns = await this.call('ListContainerInstances', {}, () => this.d.ecs.listContainerInstances(signal));
    if (arns.length === 0) return [];
    const res = await this.call('DescribeContainerInstances', {}, () => this.d.ecs.describeContainerInstances(arns, signal));
    return res.items;
  }

  private async containerInstanceOf(instanceId: string, signal?: AbortSignal): Promise<ContainerInstanceView | undefined> {
    return containerInstancesByEc2Id(await this.containerInstances(signal)).get(instanceId);
  }

  /**
   * Tasks this daemon started, running and recently stopped: ECS lists only desired-RUNNING
   * tasks unless asked for STOPPED, and "stopped" is what tells the lifecycle a drain finished.
   */
  private async ourTasks(signal?: AbortSignal, withStopped = true): Promise<Task[]> {
    const lists = await Promise.all([
      this.call('ListTasks', {}, () => this.d.ecs.listTasks({ startedBy: this.startedBy }, signal)),
      withStopped ? this.call('ListTasks', {}, () => this.d.ecs.listTasks({ startedBy: this.startedBy, desiredStatus: 'STOPPED' }, signal)) : Promise.resolve([]),
    ]);
    const arns = [...new Set(lists.flat())];
    if (arns.length === 0) return [];
    const tasks = await this.call('DescribeTasks', {}, () => this.d.ecs.describeTasks(arns, signal));
    return tasks.filter((t) => t.startedBy === this.startedBy);
  }

  /** Ours on one container instance; `withStopping` also lists those told to stop (ECS lists them under desired STOPPED). */
  private async tasksOn(containerInstanceArn: string, withStopping: boolean, signal?: AbortSignal): Promise<Task[]> {
    if (!withStopping) return this.ourTasksOn(containerInstanceArn, signal);
    const lists = await Promise.all([
      this.call('ListTasks', { containerInstance: containerInstanceArn }, () => this.d.ecs.listTasks({ containerInstance: containerInstanceArn }, signal)),
      this.call('ListTasks', { containerInstance: containerInstanceArn }, () => this.d.ecs.listTasks({ containerInstance: containerInstanceArn, desiredStatus: 'STOPPED' }, signal)),
    ]);
    const arns = [...new Set(lists.flat())];
    if (arns.length === 0) return [];
    const tasks = await this.call('DescribeTasks', {}, () => this.d.ecs.describeTasks(arns, signal));
    return tasks.filter((t) => t.startedBy === this.startedBy && t.containerInstanceArn === containerInstanceArn);
  }

  private async ourTasksOn(containerInstanceArn: string, signal?: AbortSignal): Promise<Task[]> {
    const arns = await this.call('ListTasks', { containerInstance: containerInstanceArn }, () => this.d.ecs.listTasks({ containerInstance: containerInstanceArn }, signal));
    if (arns.length === 0) return [];
    const tasks = await this.call('DescribeTasks', {}, () => this.d.ecs.describeTasks(arns, signal));
    return tasks.filter((t) => t.startedBy === this.startedBy && t.containerInstanceArn === containerInstanceArn);
  }

  /** One task definition per pool, registered once per spec; a changed spec registers a new revision. */
  private taskDefinitionArn(pool: string, spec: AgentSpec, signal?: AbortSignal): Promise<string> {
    const input = { daemonId: this.d.daemonId, pool, spec, executionRoleArn: this.d.cfg.taskExecutionRoleArn, memoryMiB: this.d.cfg.agentMemoryMiB, networkMode: this.d.cfg.agentNetworkMode };
    const hash = specHash(input);
    const cached = this.taskDefs.get(pool);
    if (cached && cached.hash === hash) return cached.arn;
    let def;
    try {
      def = buildTaskDefinition(input);
    } catch (e) {
      return Promise.reject(new DdaError('CONFIG_INVALID', e instanceof Error ? e.message : String(e), { pool }));
    }
    const arn = this.call('RegisterTaskDefinition', { pool }, () => this.d.ecs.registerTaskDefinition(def, signal)).then((r) => {
      this.log.info({ pool, taskDefinition: r.arn, spec: hash }, 'task definition registered');
      return r.arn;
    });
    // A failed registration is not cached: the next start tries again.
    arn.catch(() => {
      if (this.taskDefs.get(pool)?.arn === arn) this.taskDefs.delete(pool);
    });
    this.taskDefs.set(pool, { hash, arn });
    return arn;
  }
}
