import { DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  RegisterContainerInstanceCommand,
  type ECSClient,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsProvider } from '../../../src/cloud/aws/index.js';
import type { AwsConfig } from '../../../src/cloud/aws/settings.js';
import { parseConfig, type Config } from '../../../src/config/config.js';
import { systemClock } from '../../../src/domain/clock.js';
import { DdaError } from '../../../src/domain/errors.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { Decision } from '../../../src/planner/types.js';
import type { CloudProvider, ReapedResource } from '../../../src/ports/cloud-provider.js';
import type { QueueSource } from '../../../src/ports/queue-source.js';
import { startDaemon, type Daemon } from '../../../src/runtime/daemon.js';
import type { Transition } from '../../../src/runtime/lifecycle-log.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { CLUSTER, captureLogger, clients, createCluster, droneSpec, motoProvider, testAwsConfig, failureLogs, pause, waitFor, ScriptedQueue } from './support.js';

/**
 * The real daemon (streams, supervisor, instance actors, interpreter, AWS provider) against
 * moto_server, on the real clock. The test plays the two parts the daemon does not own: the
 * CI server (a scripted queue) and the ECS agent on each instance (it registers the container
 * instance). Every outcome is checked in moto, not only in what the daemon believes.
 */

const DAEMON = 'd1';
const OTHER = 'd2';

let moto: MotoRegion;
let ec2: EC2Client;
let ecs: ECSClient;
const daemons: Daemon[] = [];

// Each test has a region of the integration project's moto_server to itself: an empty account.
// (The shared server keeps ECS tasks where they are put, as a real agent host would move them.)
beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2, ecs } = clients(moto));
  await createCluster(ecs);
});

afterEach(async () => {
  // Whatever a test left running is halted before the next test starts.
  await Promise.all(daemons.splice(0).map((d) => d.halt()));
});

// — the CI server, scripted —


// — the daemon under test —

function config(over: { lifecycle?: object; runtime?: object; planner?: object } = {}): Config {
  return parseConfig({
    pools: [{ name: 'default', max: 2, concurrency: 1 }],
    planner: { billing: { periodSeconds: 1, minimumSeconds: 0 }, idleGraceSeconds: 1, maxInstances: 4, ...over.planner },
    lifecycle: { launchTimeoutSeconds: 15, bootTimeoutSeconds: 30, drainTimeoutSeconds: 30, terminateRetrySeconds: 5, goneGraceSeconds: 1, ...over.lifecycle },
    runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 3, pollRetries: 0, retryBaseSeconds: 0.2, reapSeconds: 60, daemonId: DAEMON, ...over.runtime },
  });
}

/** Hooks around the real provider: they look at moto when the daemon acts, and change nothing. */
interface Hooks {
  beforeDrain?(instanceId: string): Promise<void>;
  beforeTerminate?(instanceId: string): Promise<void>;
  afterReap?(reaped: ReapedResource[]): void;
}

function watched(cloud: ReturnType<typeof createAwsProvider>, hooks: Hooks): CloudProvider {
  return {
    kind: cloud.kind,
    launch: (r, s) => cloud.launch(r, s),
    describe: (s) => cloud.describe(s),
    startAgent: (i, n, p, s) => cloud.startAgent(i, n, p, s),
    async drainAgent(i, stop, s) {
      await hooks.beforeDrain?.(i);
      return cloud.drainAgent(i, stop, s);
    },
    async terminate(i, s) {
      await hooks.beforeTerminate?.(i);
      return cloud.terminate(i, s);
    },
    async reapOrphans(s) {
      const r = await cloud.reapOrphans(s);
      hooks.afterReap?.(r);
      return r;
    },
  };
}

/** A lifecycle transition and when the test saw it (ms epoch). */
type Seen = Transition & { at: number };

interface Run {
  daemon: Daemon;
  transitions: Seen[];
  decisions: Decision[];
}

function run(o: { source: QueueSource; cfg?: Config; aws?: Partial<AwsConfig>; hooks?: Hooks; logger: ReturnType<typeof captureLogger>['logger'] }): Run {
  const cfg = o.cfg ?? config();
  const transitions: Seen[] = [];
  const decisions: Decision[] = [];
  const aws = createAwsProvider(testAwsConfig(moto, o.aws), {
    clock: systemClock,
    logger: o.logger,
    daemonId: cfg.runtime.daemonId,
    agents: () => droneSpec(),
    bootTimeoutSeconds: cfg.lifecycle.bootTimeoutSeconds,
  });
  const daemon = startDaemon({
    config: cfg,
    source: o.source,
    cloud: watched(aws, o.hooks ?? {}),
    clock: systemClock,
    logger: o.logger,
    onTransition: (t) => transitions.push({ ...t, at: Date.now() }),
    onDecision: (d) => decisions.push(d),
  });
  daemons.push(daemon);
  return { daemon, transitions, decisions };
}




const seen = (ts: Seen[], instance: string, pred: (t: Seen) => boolean) => ts.find((t) => t.instance === instance && pred(t));

/** The five top-level phases one instance went through, in order, without repeats. */
function phases(ts: Seen[], key: string): string[] {
  const out: string[] = [];
  for (const t of ts) {
    if (t.machine !== 'instance' || t.key !== key) continue;
    const p = t.to.split('.')[0]!;
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

// — what moto shows —

const GONE = new Set(['shutting-down', 'terminated']);
const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined): Record<string, string | undefined> => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

async function instancesOf(daemonId: string): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dda:daemon', Values: [daemonId] }] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

async function allInstances(): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

const alive = (is: Instance[]) => is.filter((i) => !GONE.has(i.State?.Name ?? ''));

async function instanceState(id: string): Promise<string | undefined> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

interface CiView {
  arn: string;
  ec2InstanceId: string;
  status: string;
}

async function containerInstances(): Promise<CiView[]> {
  const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns ?? [];
  if (arns.length === 0) return [];
  const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: arns }));
  return (out.containerInstances ?? []).map((c) => ({ arn: c.containerInstanceArn!, ec2InstanceId: c.ec2InstanceId!, status: c.status! }));
}

async function tasks(): Promise<Task[]> {
  const [live, stopped] = await Promise.all([
    ecs.send(new ListTasksCommand({ cluster: CLUSTER })),
    ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: 'STOPPED' })),
  ]);
  const arns = [...new Set([...(live.taskArns ?? []), ...(stopped.taskArns ?? [])])];
  if (arns.length === 0) return [];
  return (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks ?? [];
}

async function tasksOnInstance(instanceId: string): Promise<Task[]> {
  const ci = (await containerInstances()).find((c) => c.ec2InstanceId === instanceId);
  if (!ci) return [];
  return (await tasks()).filter((t) => t.containerInstanceArn === ci.arn);
}

/**
 * What the ECS agent does when the instance has booted: register the container instance,
 * with the instance's tags (user data sets ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM).
 */
async function bootAsEcsAgent(instanceId: string, tags?: Record<string, string>): Promise<string> {
  let t = tags;
  if (!t) {
    const own = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0]?.Tags ?? [];
    t = Object.fromEntries(own.filter((x) => x.Key?.startsWith('dda:')).map((x) => [x.Key!, x.Value ?? '']));
  }
  const out = await ecs.send(
    new RegisterContainerInstanceCommand({
      cluster: CLUSTER,
      instanceIdentityDocument: JSON.stringify({ instanceId, region: moto.region, accountId: '123456789012' }),
      tags: Object.entries(t).map(([key, value]) => ({ key, value })),
    }),
  );
  return out.containerInstance!.containerInstanceArn!;
}

/** An instance not launched by the daemon under test (plain RunInstances), optionally tagged. */
async function plainInstance(tags: Record<string, string> = {}): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...(Object.keys(tags).length ? { TagSpecifications: [{ ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] } : {}),
    }),
  );
  return out.Instances![0]!.InstanceId!;
}

// — the tests —

describe('the daemon against moto: real instance actors through the whole lifecycle', () => {
  it('launches for a pending stage, starts the agent once registered, keeps it while busy, drains and terminates it when idle', async () => {
    const { logger } = failureLogs();
    const q = new ScriptedQueue();
    // Another daemon's instance with a running agent and a build on it, in the same account and cluster.
    const theirs = motoProvider(moto, { daemonId: OTHER });
    const other = await theirs.launch({ key: 'other-1', pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });
    await bootAsEcsAgent(other.instanceId);
    await theirs.startAgent(other.instanceId, other.instanceId, 'default');
    q.stages.push({ id: 'theirs', status: 'running', demand: DEFAULT_DEMAND, agent: other.instanceId, createdAt: Date.now() });

    const atDrain: { busy: boolean; ci: string | undefined; task: string | undefined }[] = [];
    const atTerminate: { ci: string | undefined; task: string | undefined; desired: string | undefined }[] = [];
    q.pending('s1');
    const r = run({
      source: q,
      logger,
      hooks: {
        async beforeDrain(id) {
          const t = (await tasksOnInstance(id))[0];
          atDrain.push({ busy: q.runningOn(id), ci: (await containerInstances()).find((c) => c.ec2InstanceId === id)?.status, task: t?.lastStatus });
        },
        async beforeTerminate(id) {
          const t = (await tasksOnInstance(id))[0];
          atTerminate.push({ ci: (await containerInstances()).find((c) => c.ec2InstanceId === id)?.status, task: t?.lastStatus, desired: t?.desiredStatus });
        },
      },
    });

    // requested: moto shows a tagged instance.
    const inst = await waitFor('a launched instance in moto', async () => alive(await instancesOf(DAEMON))[0]);
    const id = inst.InstanceId!;
    const tags = tagsOf(inst.Tags);
    expect(tags).toMatchObject({ 'dda:daemon': DAEMON, 'dda:pool': 'default' });
    const key = tags['dda:key']!;
    expect(key).toMatch(/^d1-/);
    await waitFor('booting', () => seen(r.transitions, id, (t) => t.to.startsWith('booting')));

    // booting: the ECS agent on the instance registers it; the daemon starts the agent task.
    const ciArn = await bootAsEcsAgent(id);
    const task = await waitFor('the agent task in moto', async () => (await tasks()).find((t) => t.containerInstanceArn === ciArn));
    expect(task).toMatchObject({ startedBy: DAEMON, lastStatus: 'RUNNING' });
    expect(task.overrides?.containerOverrides?.[0]?.environment).toEqual([{ name: 'DRONE_RUNNER_NAME', value: id }]);
    await waitFor('task-running', () => seen(r.transitions, id, (t) => t.to.startsWith('task-running')));

    // The agent takes the stage: busy, and kept well past the idle grace.
    q.run('s1', id);
    await waitFor('busy', () => seen(r.transitions, id, (t) => t.to === 'task-running.busy'));
    await pause(2_000); // a build that runs for longer than the idle grace
    expect((await containerInstances()).find((c) => c.arn === ciArn)?.status).toBe('ACTIVE');
    expect((await tasks()).find((t) => t.containerInstanceArn === ciArn)?.lastStatus).toBe('RUNNING');
    expect(atDrain).toEqual([]);

    // The build finishes; after the idle grace the agent is drained, then the instance ends.
    q.finish('s1');
    await waitFor('the instance terminated in moto', async () => (await instanceState(id)) === 'terminated');
    await waitFor('terminated', () => seen(r.transitions, id, (t) => t.to === 'terminated'));

    // The actor's first state is requested.launching: the full path, in order.
    expect(phases(r.transitions, key)).toEqual(['requested', 'booting', 'task-running', 'draining', 'terminated']);
    // Never drained while busy: not by the machine, and not in the cloud.
    expect(seen(r.transitions, id, (t) => t.from === 'task-running.busy' && t.to.startsWith('draining'))).toBeUndefined();
    expect(atDrain).toEqual([{ busy: false, ci: 'ACTIVE', task: 'RUNNING' }]);
    // When the daemon terminated it, moto showed the container instance draining and the agent stopped.
    expect(atTerminate[0]).toEqual({ ci: 'DRAINING', task: 'STOPPED', desired: 'STOPPED' });
    expect(seen(r.transitions, id, (t) => t.to === 'terminated')!.forced).toBe(false);

    // Nothing left: the container instance is deregistered (terminate does that right after
    // TerminateInstances, so the actor may end a moment before), no task of ours runs, one launch only.
    await waitFor('the container instance deregistered', async () => !(await containerInstances()).some((c) => c.ec2InstanceId === id), 5_000);
    expect((await tasks()).filter((t) => t.startedBy === DAEMON && t.lastStatus !== 'STOPPED')).toEqual([]);
    expect(await instancesOf(DAEMON)).toHaveLength(1);
    // The agent is forgotten on the CI server once terminate has returned.
    await waitFor('the agent forgotten', () => q.forgotten.includes(id), 5_000);

    // The other daemon's instance, agent and build were never touched.
    expect(await instanceState(other.instanceId)).toBe('running');
    expect((await containerInstances()).find((c) => c.ec2InstanceId === other.instanceId)?.status).toBe('ACTIVE');
    expect((await tasksOnInstance(other.instanceId))[0]).toMatchObject({ startedBy: OTHER, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
    expect(r.transitions.filter((t) => t.instance === other.instanceId)).toEqual([]);
  }, 30_000);

  it('ends a launch AWS refuses in terminated, with the reason, and leaks nothing', async () => {
    const { logger } = failureLogs();
    const q = new ScriptedQueue();
    q.pending('s1');
    // A real refusal from moto: the instance profile does not exist.
    const r = run({ source: q, logger, aws: { instanceProfile: 'missing-profile' } });

    const failed = await waitFor('a failed launch', () => r.transitions.find((t) => t.machine === 'instance' && t.to === 'terminated'));
    expect(failed.from).toBe('requested.launching');
    expect(failed.event).toBe('LAUNCH_FAILED');
    expect(failed.instance).toBeNull();
    expect(failed.reason).toMatch(/^CLOUD_FAILED: .*missing-profile/);
    await r.daemon.halt();
    // The stage still waits, so the planner asked again on later ticks: every attempt ended the same way.
    const actors = new Set(r.transitions.filter((t) => t.machine === 'instance').map((t) => t.key));
    const ended = r.transitions.filter((t) => t.machine === 'instance' && t.to === 'terminated');
    expect(ended.map((t) => t.key).sort()).toEqual([...actors].sort());
    for (const t of ended) expect(t).toMatchObject({ from: 'requested.launching', event: 'LAUNCH_FAILED', instance: null });

    expect(await allInstances()).toEqual([]);
    expect(await containerInstances()).toEqual([]);
    expect(await tasks()).toEqual([]);
  }, 20_000);

  it('terminates an instance whose container instance never registers by the boot deadline', async () => {
    const { logger } = failureLogs();
    const q = new ScriptedQueue();
    q.pending('s1');
    const r = run({ source: q, logger, cfg: config({ lifecycle: { bootTimeoutSeconds: 2 } }) });

    const inst = await waitFor('a launched instance in moto', async () => alive(await instancesOf(DAEMON))[0]);
    const id = inst.InstanceId!;
    const key = tagsOf(inst.Tags)['dda:key']!;
    // No ECS agent ever registers it.
    await waitFor('the instance terminated in moto', async () => (await instanceState(id)) === 'terminated', 15_000);
    await waitFor('terminated', () => seen(r.transitions, id, (t) => t.to === 'terminated'));

    expect(phases(r.transitions, key)).toEqual(['requested', 'booting', 'draining', 'terminated']);
    const drained = seen(r.transitions, id, (t) => t.to.startsWith('draining'))!;
    expect(drained).toMatchObject({ from: 'booting.instance', reason: 'boot deadline passed' });
    // Not before the deadline (moto's launch time has whole seconds, hence the second's slack).
    expect(drained.at - inst.LaunchTime!.getTime()).toBeGreaterThanOrEqual(2_000 - 1_000);
    expect((await containerInstances()).filter((c) => c.ec2InstanceId === id)).toEqual([]);
    expect((await tasks()).filter((t) => t.startedBy === DAEMON)).toEqual([]);
  }, 25_000);

  it('a new daemon adopts the fleet where the old one stopped, launches nothing twice, and leaves nothing behind', async () => {
    const { logger } = failureLogs();
    const q = new ScriptedQueue();
    q.pending('s1');
    const a = run({ source: q, logger });

    const inst = await waitFor('a launched instance in moto', async () => alive(await instancesOf(DAEMON))[0]);
    const id = inst.InstanceId!;
    const ciArn = await bootAsEcsAgent(id);
    await waitFor('task-running', () => seen(a.transitions, id, (t) => t.to.startsWith('task-running')));
    q.run('s1', id);
    await waitFor('busy', () => seen(a.transitions, id, (t) => t.to === 'task-running.busy'));

    // A crash or redeploy: polling and actors stop, the fleet stays as it is.
    await a.daemon.halt();
    expect(await instanceState(id)).toBe('running');
    expect((await containerInstances()).find((c) => c.arn === ciArn)?.status).toBe('ACTIVE');
    expect((await tasksOnInstance(id))[0]).toMatchObject({ lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });

    // B starts blind (the CI server does not answer): it adopts, and neither drains nor launches.
    q.failure = new DdaError('SOURCE_UNREACHABLE', 'script: CI server unreachable');
    const b = run({ source: q, logger });
    const adopted = await waitFor('adoption', () => seen(b.transitions, id, (t) => t.machine === 'instance'));
    expect(adopted.from).toBe('(new)');
    expect(adopted.to).toMatch(/^task-running\./);
    expect(adopted.reason).toBe('adopted in phase task-running');
    await waitFor('degraded mode', () => b.transitions.find((t) => t.machine === 'supervisor' && t.to === 'degraded'));
    await pause(1_500); // blind for longer than the idle grace
    expect(seen(b.transitions, id, (t) => t.to.startsWith('draining'))).toBeUndefined();
    expect(b.decisions.filter((d) => d.kind === 'launch' || d.kind === 'drain')).toEqual([]);
    expect(b.decisions.some((d) => d.kind === 'hold' && d.code === 'queue-unknown')).toBe(true);

    // The CI server answers again: the build is still running on the adopted agent.
    q.failure = null;
    await waitFor('busy again', () => seen(b.transitions, id, (t) => t.to === 'task-running.busy'));
    q.finish('s1');
    await waitFor('the instance terminated in moto', async () => (await instanceState(id)) === 'terminated');
    await waitFor('terminated', () => seen(b.transitions, id, (t) => t.to === 'terminated'));

    // B took over the same work: nothing launched twice, the same actor key kept.
    expect(b.decisions.filter((d) => d.kind === 'launch')).toEqual([]);
    expect(await instancesOf(DAEMON)).toHaveLength(1);
    expect(adopted.key).toBe(tagsOf(inst.Tags)['dda:key']);
    expect(phases(b.transitions, adopted.key)).toEqual(['task-running', 'draining', 'terminated']);
    expect(seen(b.transitions, id, (t) => t.from === 'task-running.busy' && t.to.startsWith('draining'))).toBeUndefined();

    // Leaks nothing: no running instance, container instance or agent task of ours.
    expect(alive(await instancesOf(DAEMON))).toEqual([]);
    await waitFor('the container instance deregistered', async () => (await containerInstances()).length === 0, 5_000);
    expect((await tasks()).filter((t) => t.startedBy === DAEMON && t.lastStatus !== 'STOPPED')).toEqual([]);
  }, 35_000);

  it('reaps, now and then, the container instance and agent task of an instance ended behind its back; never another daemon\'s', async () => {
    const { logger } = failureLogs();
    const q = new ScriptedQueue();
    const reaps: ReapedResource[][] = [];
    q.pending('s1');
    const r = run({ source: q, logger, cfg: config({ runtime: { reapSeconds: 1 } }), hooks: { afterReap: (x) => reaps.push(x) } });
    // The reap at start found nothing: what follows is the periodic reaper's work.
    await waitFor('the first reap', () => reaps.length >= 1);
    expect(reaps[0]).toEqual([]);

    const inst = await waitFor('a launched instance in moto', async () => alive(await instancesOf(DAEMON))[0]);
    const id = inst.InstanceId!;
    const ciArn = await bootAsEcsAgent(id);
    const task = await waitFor('the agent task in moto', async () => (await tasks()).find((t) => t.containerInstanceArn === ciArn && t.lastStatus === 'RUNNING'));
    q.run('s1', id);
    await waitFor('busy', () => seen(r.transitions, id, (t) => t.to === 'task-running.busy'));

    // Another daemon's instance ended the same way: its container instance is not ours to clean.
    const theirs = motoProvider(moto, { daemonId: OTHER });
    const other = await theirs.launch({ key: 'other-1', pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });
    const theirCi = await bootAsEcsAgent(other.instanceId);

    // Ended behind the daemon's back (the on-instance watchdog, a spot reclaim, a human). EC2
    // does not deregister the container instance; the ECS side is left behind.
    const reapsBefore = reaps.length;
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id, other.instanceId] }));
    const gone = await waitFor('the actor ended', () => seen(r.transitions, id, (t) => t.to === 'terminated'));
    expect(gone).toMatchObject({ from: 'task-running.busy', event: 'INSTANCE_GONE', forced: true, reason: 'instance vanished while running' });
    // The build died with its machine; the CI server drops it.
    q.finish('s1');

    // Wait for the reaper's report (moto shows the deregistration a moment before the reap returns).
    await waitFor('the orphan reaped', () => reaps.slice(reapsBefore).flat().some((x) => x.id === ciArn), 10_000);
    const reaped = reaps.slice(reapsBefore).flat();
    expect(reaped).toContainEqual({ kind: 'container-instance', id: ciArn, reason: 'its EC2 instance is terminated' });
    expect((await containerInstances()).some((c) => c.arn === ciArn)).toBe(false);
    expect(reaped).toContainEqual(expect.objectContaining({ kind: 'task', id: task.taskArn }));
    expect((await tasks()).find((t) => t.taskArn === task.taskArn)).toMatchObject({ desiredStatus: 'STOPPED' });
    // A few more rounds: another daemon's leftover stays, and nothing of ours was relaunched for a finished build.
    const n = reaps.length;
    await waitFor('two more reaps', () => reaps.length >= n + 2, 5_000);
    expect((await containerInstances()).find((c) => c.arn === theirCi)?.status).toBe('ACTIVE');
    expect(reaps.flat().some((x) => x.id === theirCi)).toBe(false);
    expect(await instancesOf(DAEMON)).toHaveLength(1);
  }, 25_000);

  it('never touches another daemon\'s fleet, even while stopping to zero', async () => {
    const { logger } = failureLogs();
    // Another daemon's idle agent, and an untagged instance, beside a daemon with an empty queue.
    const theirs = motoProvider(moto, { daemonId: OTHER });
    const other = await theirs.launch({ key: 'other-1', pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });
    const otherCi = await bootAsEcsAgent(other.instanceId);
    await theirs.startAgent(other.instanceId, other.instanceId, 'default');
    const stray = await plainInstance();

    const q = new ScriptedQueue();
    const r = run({ source: q, logger, cfg: config({ runtime: { reapSeconds: 1 } }) });
    await waitFor('the supervisor running', () => r.transitions.find((t) => t.machine === 'supervisor' && t.to === 'running'));
    await pause(2_500); // a dozen planning rounds and two reaps
    await r.daemon.stop({ timeoutMs: 5_000 });

    expect(r.transitions.filter((t) => t.machine === 'instance')).toEqual([]);
    expect(r.decisions.filter((d) => d.kind !== 'hold')).toEqual([]);
    expect(await instanceState(other.instanceId)).toBe('running');
    expect(await instanceState(stray)).toBe('running');
    expect((await containerInstances()).find((c) => c.arn === otherCi)?.status).toBe('ACTIVE');
    expect((await tasksOnInstance(other.instanceId))[0]).toMatchObject({ startedBy: OTHER, lastStatus: 'RUNNING', desiredStatus: 'RUNNING' });
  }, 20_000);
});
