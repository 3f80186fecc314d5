import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { RegisterContainerInstanceCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsProvider, createInterruptionSource } from '../../../src/cloud/aws/index.js';
import { parseConfig } from '../../../src/config/config.js';
import { systemClock } from '../../../src/domain/clock.js';
import { startDaemon, type Daemon, type NoticeOutcome } from '../../../src/runtime/daemon.js';
import type { Transition } from '../../../src/runtime/lifecycle-log.js';
import { createDroneSource } from '../../../src/sources/drone/drone-source.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { FakeDrone } from '../../sources/fake-drone.js';
import { CLUSTER, clients, createCluster, droneSpec, failureLogs, pause, testAwsConfig, waitFor } from './support.js';

/**
 * The interruption queue against moto's SQS: EventBridge-shaped messages sent to a real queue,
 * read by the real daemon (AWS provider on moto, a Drone server on loopback). The instance is
 * on-demand and moto reports no spot interruption in describe, so what drains it can only be
 * the queue.
 */

const DAEMON = 'dq';
const TOKEN = 'interruption-test-token-9d1c';

let moto: MotoRegion;
let ec2: ReturnType<typeof clients>['ec2'];
let ecs: ECSClient;
let sqs: SQSClient;
let drone: FakeDrone | undefined;
const daemons: Daemon[] = [];

beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2, ecs } = clients(moto));
  sqs = new SQSClient({ endpoint: moto.endpoint, region: moto.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
  await createCluster(ecs);
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.halt()));
  await drone?.close();
  drone = undefined;
});

const GONE = new Set(['shutting-down', 'terminated']);
async function ours(): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dda:daemon', Values: [DAEMON] }] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => !GONE.has(i.State?.Name ?? ''));
}

async function bootAsEcsAgent(instanceId: string): Promise<void> {
  const own = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0]?.Tags ?? [];
  const tags = own.filter((x) => x.Key?.startsWith('dda:')).map((x) => ({ key: x.Key!, value: x.Value ?? '' }));
  await ecs.send(new RegisterContainerInstanceCommand({ cluster: CLUSTER, instanceIdentityDocument: JSON.stringify({ instanceId, region: moto.region, accountId: '123456789012' }), tags }));
}

const eventBridge = (type: string, detail: unknown, time: Date) =>
  JSON.stringify({ version: '0', id: 'e-1', 'detail-type': type, source: 'aws.ec2', account: '123456789012', time: time.toISOString(), region: moto.region, resources: [], detail });

async function queueDepth(url: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

type Seen = Transition & { at: number };

describe('the interruption queue (SQS fed by EventBridge) against moto', () => {
  it('drains an interrupted instance within seconds, launches a replacement for waiting work, restarts its build once; a malformed message is counted and deleted', async () => {
    const { logger, lines } = failureLogs(120);
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'dda-interruptions' }))).QueueUrl!;
    drone = await FakeDrone.start({ token: TOKEN });
    const cfg = parseConfig({
      // Two slots per agent: a second stage fits on the first instance, so nothing else is bought until it is interrupted.
      pools: [{ name: 'default', max: 2, concurrency: 2 }],
      planner: { billing: { periodSeconds: 1, minimumSeconds: 0 }, idleGraceSeconds: 60, maxInstances: 2 },
      lifecycle: { launchTimeoutSeconds: 15, bootTimeoutSeconds: 60, drainTimeoutSeconds: 30, terminateRetrySeconds: 5, goneGraceSeconds: 1 },
      runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 3, pollRetries: 0, retryBaseSeconds: 0.2, reapSeconds: 600, daemonId: DAEMON },
    });
    const aws = testAwsConfig(moto, { interruptionQueueUrl: queueUrl });
    const transitions: Seen[] = [];
    const notices: NoticeOutcome[] = [];
    const daemon = startDaemon({
      config: cfg,
      source: createDroneSource({ server: drone.url, token: TOKEN, timeoutMs: 3000, clock: systemClock, logger }),
      cloud: createAwsProvider(aws, { clock: systemClock, logger, daemonId: DAEMON, agents: () => droneSpec(), bootTimeoutSeconds: 60 }),
      interruptions: createInterruptionSource(aws, { logger })!,
      restartBuilds: true,
      clock: systemClock,
      logger,
      onTransition: (t) => transitions.push({ ...t, at: Date.now() }),
      onNotice: (n) => notices.push(n),
    });
    daemons.push(daemon);

    // A build (octocat/hello-world #7) waits; the daemon buys an agent; the test plays the ECS agent and the runner.
    const s1 = drone.addStage({ build_id: 42 });
    drone.setBuild(42, { namespace: 'octocat', name: 'hello-world', number: 7 });
    const a = (await waitFor('a launched instance', async () => (await ours())[0])).InstanceId!;
    await waitFor('booting', () => transitions.find((t) => t.instance === a && t.to.startsWith('booting')));
    await bootAsEcsAgent(a);
    await waitFor('task-running', () => transitions.find((t) => t.instance === a && t.to.startsWith('task-running')));
    drone.startStage(s1, a);
    await waitFor('busy', () => transitions.find((t) => t.instance === a && t.to === 'task-running.busy'));
    // More work arrives; it fits in the busy agent's second slot: nothing is bought.
    drone.addStage({ build_id: 43 });
    await pause(1500);
    expect((await ours()).map((i) => i.InstanceId)).toEqual([a]);

    // Garbage first, then the warning for our instance.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'this is not an event' }));
    const sentAt = new Date();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: eventBridge('EC2 Spot Instance Interruption Warning', { 'instance-id': a, 'instance-action': 'terminate' }, sentAt) }));

    const drained = await waitFor('drained by the notice', () => transitions.find((t) => t.instance === a && t.to.startsWith('draining')), 10_000);
    const delayMs = drained.at - sentAt.getTime();
    console.log(`interruption warning sent → drain: ${delayMs} ms`);
    expect(drained).toMatchObject({ from: 'task-running.busy', event: 'SPOT_INTERRUPTION', forced: true, reason: 'forced: spot interruption warning' });
    expect(delayMs).toBeLessThan(10_000);

    // The interrupted instance no longer counts as capacity: a replacement is launched for the waiting stage.
    const b = (await waitFor('a replacement instance', async () => (await ours()).find((i) => i.InstanceId !== a), 10_000)).InstanceId!;
    expect(b).not.toBe(a);

    // The interrupted one ends; the build that ran on it is restarted, once.
    await waitFor('the interrupted instance terminated', () => transitions.find((t) => t.instance === a && t.to === 'terminated'), 30_000);
    await waitFor('the build restarted', () => drone!.restarts.length > 0, 10_000);
    await pause(1000);
    expect(drone.restarts).toEqual(['octocat/hello-world#7']);

    // Both messages were deleted; the malformed one was counted and logged once, naming no body.
    expect(notices).toContainEqual({ ignored: { kind: 'ignored', why: 'malformed', detail: 'not JSON' } });
    expect(notices).toContainEqual({ notice: { kind: 'spot-interruption', instanceId: a, sentAt: Date.parse(sentAt.toISOString()) }, ours: true });
    expect(await queueDepth(queueUrl)).toBe(0);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((l) => l.msg === 'interruption queue: message ignored and deleted')).toHaveLength(1);
    expect(lines.join('')).not.toContain('this is not an event');
    expect(lines.join('')).not.toContain(TOKEN);
    expect(logged.find((l) => l.msg === 'cloud event')).toMatchObject({ instance: a, kind: 'spot-interruption', sentAt: sentAt.toISOString() });
    expect(logged.find((l) => l.msg === 'build restarted: its agent was taken by the infrastructure')).toMatchObject({ build: 'octocat/hello-world#7', reason: 'spot-interruption' });
  }, 90_000);

  it('makes no SQS call when no queue is configured', () => {
    // No URL, no source: the daemon is started without one and reads describe alone, as before.
    expect(createInterruptionSource(testAwsConfig(moto), { logger: failureLogs().logger })).toBeUndefined();
  });
});
