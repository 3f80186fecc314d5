import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ListContainerInstancesCommand, ListTasksCommand, type ECSClient, type Task } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsProvider } from '../../../src/cloud/aws/index.js';
import { parseConfig, type Config } from '../../../src/config/config.js';
import { systemClock } from '../../../src/domain/clock.js';
import type { Decision } from '../../../src/planner/types.js';
import type { QueueSource } from '../../../src/ports/queue-source.js';
import { startDaemon, type Daemon } from '../../../src/runtime/daemon.js';
import type { Transition } from '../../../src/runtime/lifecycle-log.js';
import { startAwsProxy, type AwsProxy } from '../../helpers/aws-proxy.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { CLUSTER, captureLogger, clients, createCluster, droneSpec, registerAsEcsAgent, testAwsConfig, failureLogs, pause, waitFor, ScriptedQueue } from './support.js';

/**
 * The warm pool end to end: the real daemon (streams, supervisor, instance actors, planner,
 * interpreter, AWS provider) against moto_server on the real clock. The test plays the CI
 * server (a scripted queue) and the ECS agent (it registers the container instance once, as
 * the agent does on the first boot; moto keeps it ACTIVE across a stop and start, as AWS keeps
 * the registration). Every AWS call the daemon makes goes through a recording proxy, so "no
 * new launch" is read from the wire, and every outcome is checked in moto.
 */

const DAEMON = 'd1';

let moto: MotoRegion;
let ec2: EC2Client;
let ecs: ECSClient;
let proxy: AwsProxy;
const daemons: Daemon[] = [];

beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2, ecs } = clients(moto));
  await createCluster(ecs);
  proxy = await startAwsProxy(moto.endpoint);
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.halt()));
  await proxy.close();
});


function config(): Config {
  return parseConfig({
    pools: [{ name: 'default', max: 2, concurrency: 1, warmPool: { size: 1 } }],
    planner: { billing: { periodSeconds: 1, minimumSeconds: 0 }, idleGraceSeconds: 1, maxInstances: 4 },
    // goneGraceSeconds 0: settling a launch does not hold the next decision back.
    lifecycle: { launchTimeoutSeconds: 15, bootTimeoutSeconds: 30, drainTimeoutSeconds: 30, terminateRetrySeconds: 5, goneGraceSeconds: 0 },
    runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 3, pollRetries: 0, retryBaseSeconds: 0.2, reapSeconds: 60, daemonId: DAEMON },
  });
}

type Seen = Transition & { at: number };
interface Run {
  daemon: Daemon;
  transitions: Seen[];
  decisions: Decision[];
}

function run(source: QueueSource, logger: ReturnType<typeof captureLogger>['logger']): Run {
  const cfg = config();
  const transitions: Seen[] = [];
  const decisions: Decision[] = [];
  const aws = createAwsProvider(testAwsConfig({ endpoint: proxy.endpoint, region: moto.region }), {
    clock: systemClock,
    logger,
    daemonId: cfg.runtime.daemonId,
    agents: () => droneSpec(),
    bootTimeoutSeconds: cfg.lifecycle.bootTimeoutSeconds,
  });
  const daemon = startDaemon({
    config: cfg,
    source,
    cloud: aws,
    clock: systemClock,
    logger,
    onTransition: (t) => transitions.push({ ...t, at: Date.now() }),
    onDecision: (d) => decisions.push(d),
  });
  daemons.push(daemon);
  return { daemon, transitions, decisions };
}




const seen = (ts: Seen[], instance: string, pred: (t: Seen) => boolean) => ts.find((t) => t.instance === instance && pred(t));
/** The leaf states one instance went through, in order: `from → to` of each transition. */
const pathOf = (ts: Seen[], instance: string) => ts.filter((t) => t.machine === 'instance' && t.instance === instance).map((t) => t.to);
const count = (actions: readonly string[], a: string) => actions.filter((x) => x === a).length;

// — what moto shows —

const GONE = new Set(['shutting-down', 'terminated']);
const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined): Record<string, string | undefined> => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

async function instancesOf(daemonId: string): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dda:daemon', Values: [daemonId] }] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
const alive = (is: Instance[]) => is.filter((i) => !GONE.has(i.State?.Name ?? ''));

async function instance(id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

async function containerInstances(): Promise<{ arn: string; ec2InstanceId: string; status: string }[]> {
  const arns = (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns ?? [];
  if (arns.length === 0) return [];
  const out = await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: arns }));
  return (out.containerInstances ?? []).map((c) => ({ arn: c.containerInstanceArn!, ec2InstanceId: c.ec2InstanceId!, status: c.status! }));
}

/** Every task in the cluster, running or stopped. */
async function tasks(): Promise<Task[]> {
  const arns = [
    ...((await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: 'RUNNING' }))).taskArns ?? []),
    ...((await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: 'STOPPED' }))).taskArns ?? []),
  ];
  if (arns.length === 0) return [];
  return (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks ?? [];
}
const running = (ts: Task[]) => ts.filter((t) => t.lastStatus !== 'STOPPED' || t.desiredStatus !== 'STOPPED');

/** Parked as moto shows it: stopped, tagged with when, priming over. */
async function expectParked(id: string): Promise<void> {
  const i = await instance(id);
  expect(i.State?.Name).toBe('stopped');
  const tags = tagsOf(i.Tags);
  expect(Number(tags['dda:parked-at'])).toBeGreaterThan(0);
  expect(tags['dda:purpose']).toBeUndefined();
  // No agent task left on it, its container instance still registered for the next start.
  expect(running(await tasks())).toEqual([]);
  expect((await containerInstances()).find((c) => c.ec2InstanceId === id)?.status).toBe('ACTIVE');
}

describe('the warm pool, the real daemon against moto', () => {
  it('primes one instance and parks it, starts it for a stage instead of a cold launch, parks it again after; a new daemon adopts it and evicts it on stop', async () => {
    const { logger } = failureLogs(120);
    const q = new ScriptedQueue();

    // — 1. Priming: an empty queue, a warm pool of one. —
    const a = run(q, logger);
    const inst = await waitFor('a priming instance in moto', async () => alive(await instancesOf(DAEMON))[0]);
    const id = inst.InstanceId!;
    const tags = tagsOf(inst.Tags);
    expect(tags).toMatchObject({ 'dda:daemon': DAEMON, 'dda:pool': 'default', 'dda:purpose': 'park' });
    const key = tags['dda:key']!;
    expect(inst.InstanceLifecycle).toBeUndefined(); // on-demand: a spot instance could not be stopped
    await waitFor('priming.booting', () => seen(a.transitions, id, (t) => t.to === 'priming.booting'));
    expect(a.decisions.filter((d) => d.kind === 'launch')).toEqual([expect.objectContaining({ purpose: 'park', count: 1 })]);

    // Still booting: not parked before its agent has registered (the image is pulled by then).
    await pause(1_000);
    expect((await instance(id)).State?.Name).toBe('running');
    expect(seen(a.transitions, id, (t) => t.to.startsWith('parked'))).toBeUndefined();

    // The ECS agent registers it: the daemon parks it.
    const ciArn = await registerAsEcsAgent(ecs, id);
    await waitFor('parked.ready', () => seen(a.transitions, id, (t) => t.to === 'parked.ready'));
    await expectParked(id);
    expect(pathOf(a.transitions, id)).toEqual(['priming.booting', 'parked.parking', 'parked.ready']);
    expect(seen(a.transitions, id, (t) => t.to === 'parked.parking')!.reason).toMatch(/^primed/);
    // The actor's first state (priming.launching) had no instance id yet.
    expect(a.transitions.find((t) => t.key === key)).toMatchObject({ from: '(new)', to: 'priming.launching', instance: null });

    // The pool is full: nothing more is primed while it stays parked.
    await pause(1_500);
    expect(count(proxy.actions, 'RunInstances')).toBe(1);
    expect(count(proxy.actions, 'StartTask')).toBe(0);
    expect(alive(await instancesOf(DAEMON))).toHaveLength(1);

    // — 2. A stage arrives: the parked instance is started, not a new one launched. —
    const before = proxy.actions.length;
    q.pending('s1');
    await waitFor('parked.starting', () => seen(a.transitions, id, (t) => t.to === 'parked.starting'));
    expect(a.decisions.some((d) => d.kind === 'activate' && d.key === key)).toBe(true);
    // moto starts it at once and keeps the container instance: the agent task follows.
    const task = await waitFor('the agent task in moto', async () => (await tasks()).find((t) => t.containerInstanceArn === ciArn && t.lastStatus === 'RUNNING'));
    expect(task).toMatchObject({ startedBy: DAEMON });
    expect(task.overrides?.containerOverrides?.[0]?.environment).toEqual([{ name: 'DRONE_RUNNER_NAME', value: id }]);
    await waitFor('task-running', () => seen(a.transitions, id, (t) => t.to.startsWith('task-running')));
    const started = await instance(id);
    expect(started.State?.Name).toBe('running');
    expect(tagsOf(started.Tags)['dda:parked-at']).toBeUndefined();

    // The agent takes the stage and runs it; the CI server shows it on the instance.
    q.run('s1', id);
    await waitFor('busy', () => seen(a.transitions, id, (t) => t.to === 'task-running.busy'));
    expect(q.stages).toEqual([expect.objectContaining({ id: 's1', status: 'running', agent: id })]);
    await pause(1_500); // a build longer than the idle grace
    expect(seen(a.transitions, id, (t) => t.from === 'task-running.busy' && t.to.startsWith('draining'))).toBeUndefined();

    // The build ends: the idle agent is drained, and the instance parks again for the pool.
    q.finish('s1');
    const activatedAt = a.transitions.findIndex((t) => t.instance === id && t.to === 'parked.starting');
    const reparked = await waitFor('parked again', () => a.transitions.slice(activatedAt).find((t) => t.instance === id && t.to === 'parked.ready'));
    expect(reparked.reason).toMatch(/^parked/);
    await expectParked(id);
    const drain = a.decisions.find((d) => d.kind === 'drain' && d.key === key);
    expect(drain).toMatchObject({ then: 'park' });

    // Its path from parked to parked again, as the lifecycle log shows it.
    const path = pathOf(a.transitions, id);
    const second = path.slice(path.indexOf('parked.starting'));
    expect(second.slice(0, 5)).toEqual(['parked.starting', 'booting.agent', 'task-running.idle', 'task-running.busy', 'task-running.idle']);
    expect(second[5]).toMatch(/^draining\./);
    expect(second.slice(-2)).toEqual(['parked.parking', 'parked.ready']);
    expect(second.filter((s) => s.startsWith('draining'))).not.toContain('draining.terminating');
    expect(seen(a.transitions, id, (t) => t.to === 'parked.starting')!.from).toBe('parked.ready');

    // On the wire: one launch ever (the priming one); a start and a stop for this round, no terminate.
    const round = proxy.actions.slice(before);
    expect(count(proxy.actions, 'RunInstances')).toBe(1);
    expect(count(round, 'StartInstances')).toBe(1);
    expect(count(round, 'StartTask')).toBe(1);
    expect(count(round, 'StopInstances')).toBeGreaterThanOrEqual(1);
    expect(count(proxy.actions, 'TerminateInstances')).toBe(0);
    // Nothing was primed while the agent was at work or parking: it counted as the pool's.
    expect(a.decisions.filter((d) => d.kind === 'launch')).toHaveLength(1);
    expect(await instancesOf(DAEMON)).toHaveLength(1);
    expect(await containerInstances()).toHaveLength(1);

    // — 3. Restart: a new daemon on the same fleet adopts it as parked. —
    await a.daemon.halt();
    const atHalt = proxy.actions.length;
    const b = run(q, logger);
    const adopted = await waitFor('adoption', () => seen(b.transitions, id, (t) => t.machine === 'instance'));
    expect(adopted).toMatchObject({ from: '(new)', to: 'parked.ready', key, reason: 'adopted in phase parked' });
    await pause(1_500); // a few planning rounds with the pool full
    expect(pathOf(b.transitions, id)).toEqual(['parked.ready']);
    expect(b.decisions.filter((d) => d.kind !== 'hold')).toEqual([]);
    const adopting = proxy.actions.slice(atHalt);
    for (const a of ['RunInstances', 'StartInstances', 'StopInstances', 'TerminateInstances', 'StartTask']) expect(count(adopting, a)).toBe(0);
    await expectParked(id);

    // Stopping: the warm pool is evicted, and nothing is left behind.
    await b.daemon.stop({ timeoutMs: 10_000 });
    expect(b.daemon.leftBehind()).toEqual({ instances: 0, commands: [] });
    expect(b.decisions.find((d) => d.kind === 'evict' && d.key === key)).toMatchObject({ reason: 'daemon stopping' });
    expect(pathOf(b.transitions, id)).toEqual(['parked.ready', 'draining.terminating', 'terminated']);
    expect(seen(b.transitions, id, (t) => t.to === 'terminated')!.forced).toBe(false);
    expect((await instance(id)).State?.Name).toBe('terminated');
    expect(count(proxy.actions.slice(atHalt), 'TerminateInstances')).toBe(1);
    expect(count(proxy.actions, 'RunInstances')).toBe(1);
    expect(alive(await instancesOf(DAEMON))).toEqual([]);
    expect(await containerInstances()).toEqual([]);
    expect(running(await tasks())).toEqual([]);
  }, 60_000);
});
