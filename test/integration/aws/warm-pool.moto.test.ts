import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, StopInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeContainerInstancesCommand, DescribeTasksCommand, ListContainerInstancesCommand, ListTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDdaError } from '../../../src/domain/errors.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { CloudProvider, LaunchRequest, ObservedInstance } from '../../../src/ports/cloud-provider.js';
import { startAwsProxy, type AwsProxy } from '../../helpers/aws-proxy.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { CLUSTER, clients, createCluster, manualClock, motoProvider, registerAsEcsAgent } from './support.js';

/** The warm pool's AWS side: park (stop) and unpark (start) against moto, and what a describe says of them. */

let moto: MotoRegion;
let ec2: EC2Client;
let ecs: ECSClient;
let proxy: AwsProxy | undefined;

beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2, ecs } = clients(moto));
  await createCluster(ecs);
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const req = (key: string, purpose?: LaunchRequest['purpose']): LaunchRequest => ({ key, pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1, ...(purpose ? { purpose } : {}) });

async function instance(id: string) {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}
const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

async function observed(p: CloudProvider, id: string): Promise<ObservedInstance> {
  const o = (await p.describe()).instances.find((x) => x.instanceId === id);
  if (!o) throw new Error(`${id} not in the snapshot`);
  return o;
}

async function userDataOf(id: string): Promise<string> {
  const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }));
  return Buffer.from(ud.UserData!.Value!, 'base64').toString('utf8');
}

function park(p: CloudProvider, id: string): Promise<void> {
  if (!p.park) throw new Error('the AWS provider parks');
  return p.park(id);
}
function unpark(p: CloudProvider, id: string): Promise<void> {
  if (!p.unpark) throw new Error('the AWS provider unparks');
  return p.unpark(id);
}

describe('warm pool against moto', () => {
  it('launches a priming instance: on-demand, tagged dda:purpose=park, user data pulls the agent image before the ECS agent starts', async () => {
    const p = motoProvider(moto, { cfg: { market: 'spot-then-on-demand' } });
    const r = await p.launch(req('warm-1', 'park'));
    expect(r.market).toBe('on-demand');
    const i = await instance(r.instanceId);
    expect(i.InstanceLifecycle).toBeUndefined();
    expect(tagsOf(i.Tags)).toMatchObject({ 'dda:daemon': 'd1', 'dda:purpose': 'park' });
    const ud = await userDataOf(r.instanceId);
    expect(ud).toContain("docker pull 'drone/drone-runner-docker:1'");
    expect(ud).toContain('ECS_IMAGE_PULL_BEHAVIOR=prefer-cached');
    // The pull comes before the watchdog and after ecs.config is written.
    expect(ud.indexOf('docker pull')).toBeGreaterThan(ud.indexOf('ECS_CLUSTER=ci'));
    expect(ud.indexOf('docker pull')).toBeLessThan(ud.indexOf('dda-watchdog.timer'));
    // The watchdog counts idle time from the latest boot: a started parked instance is not ended for its old idleness.
    expect(ud).toContain('/proc/uptime');

    const o = await observed(p, r.instanceId);
    expect(o).toMatchObject({ priming: true, storageGb: 40 });
    expect(o.parkedAt).toBeUndefined();
    expect(o.drift).toBeUndefined();

    // A work launch: not tagged for parking, no pull, but the same pull behaviour.
    const w = await p.launch(req('work-1'));
    expect(tagsOf((await instance(w.instanceId)).Tags)['dda:purpose']).toBeUndefined();
    const wud = await userDataOf(w.instanceId);
    expect(wud).not.toContain('docker pull');
    expect(wud).toContain('ECS_IMAGE_PULL_BEHAVIOR=prefer-cached');
    expect((await observed(p, w.instanceId)).priming).toBeUndefined();
  });

  it('parks a primed instance: stopped, parkedAt from the tag, priming over, still registered; unpark starts it and clears parkedAt', async () => {
    const clock = manualClock(Date.UTC(2025, 5, 1, 8));
    const p = motoProvider(moto, { clock });
    const r = await p.launch(req('warm-2', 'park'));
    const ciArn = await registerAsEcsAgent(ecs, r.instanceId);
    expect(await observed(p, r.instanceId)).toMatchObject({ registered: true, priming: true });

    clock.advance(90_000);
    await park(p, r.instanceId);
    const parkedAt = Date.UTC(2025, 5, 1, 8) + 90_000;
    const i = await instance(r.instanceId);
    expect(i.State?.Name).toBe('stopped');
    expect(tagsOf(i.Tags)['dda:parked-at']).toBe(String(parkedAt));
    expect(tagsOf(i.Tags)['dda:purpose']).toBeUndefined();
    let o = await observed(p, r.instanceId);
    expect(o).toMatchObject({ state: 'stopped', parkedAt, registered: true, agent: 'none', draining: false, storageGb: 40 });
    expect(o.priming).toBeUndefined();
    const ci = (await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [ciArn] }))).containerInstances![0]!;
    expect(ci.status).toBe('ACTIVE');

    // A retried park changes nothing.
    await park(p, r.instanceId);
    expect(tagsOf((await instance(r.instanceId)).Tags)['dda:parked-at']).toBe(String(parkedAt));

    await unpark(p, r.instanceId);
    o = await observed(p, r.instanceId);
    expect(['pending', 'running']).toContain(o.state);
    expect(o.parkedAt).toBeUndefined();
    expect(o.priming).toBeUndefined();
    expect(o.registered).toBe(true);
    expect(tagsOf((await instance(r.instanceId)).Tags)['dda:parked-at']).toBeUndefined();
    // A retried unpark is harmless; the same container instance takes the agent.
    await unpark(p, r.instanceId);
    await p.startAgent(r.instanceId, 'dda-warm-2', 'default');
    expect((await observed(p, r.instanceId)).agent).toBe('running');
  });

  it('after a job: stops the agent task and refuses to park while it runs, reactivates the drained container instance once it has stopped', async () => {
    // The first StopTask is accepted but the task goes on running (finishing its build), as on AWS.
    proxy = await startAwsProxy(moto.endpoint, (action, seen) => (action === 'StopTask' && seen === 0 ? { reply: {} } : 'forward'));
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region });
    const r = await p.launch(req('reuse'));
    const ciArn = await registerAsEcsAgent(ecs, r.instanceId);
    await p.startAgent(r.instanceId, 'dda-reuse', 'default');
    await p.drainAgent(r.instanceId, false);
    expect(await observed(p, r.instanceId)).toMatchObject({ agent: 'running', draining: true });

    const refused = await park(p, r.instanceId).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isDdaError(refused, 'CLOUD_FAILED')).toBe(true);
    expect((refused as { details: Record<string, unknown> }).details['reason']).toBe('agent-running');
    expect(proxy.actions.filter((a) => a === 'StopTask')).toHaveLength(1);
    expect((await instance(r.instanceId)).State?.Name).toBe('running');
    expect(tagsOf((await instance(r.instanceId)).Tags)['dda:parked-at']).toBeUndefined();

    // Asked again, the task is told to stop (this time it does) and the instance is parked.
    await park(p, r.instanceId);
    expect(proxy.actions.filter((a) => a === 'StopTask')).toHaveLength(2);
    expect((await instance(r.instanceId)).State?.Name).toBe('stopped');
    const taskArns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, containerInstance: ciArn, desiredStatus: 'STOPPED' }))).taskArns!;
    expect(taskArns).toHaveLength(1);
    expect((await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks![0]!.lastStatus).toBe('STOPPED');
    const ci = (await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [ciArn] }))).containerInstances![0]!;
    expect(ci.status).toBe('ACTIVE');
    expect(await observed(p, r.instanceId)).toMatchObject({ state: 'stopped', agent: 'stopped', draining: false, registered: true });
  });

  it('reports drift when the configured image or instance types no longer match, naming both values', async () => {
    const p = motoProvider(moto, { cfg: { ami: 'ami-12c6146b' } });
    const r = await p.launch(req('old', 'park'));
    await park(p, r.instanceId);
    expect((await observed(p, r.instanceId)).drift).toBeUndefined();

    const newer = motoProvider(moto, { cfg: { ami: 'ami-0abcdef1234567890', instanceTypes: ['m7i.large'] } });
    const drift = (await observed(newer, r.instanceId)).drift;
    expect(drift).toContain('ami-12c6146b');
    expect(drift).toContain('ami-0abcdef1234567890');
    expect(drift).toContain('c6i.large');
    expect(drift).toContain('m7i.large');
    // An image resolved by SSM at launch is not compared (that would take a lookup per poll).
    const ssm = motoProvider(moto, { cfg: { ami: undefined } });
    expect((await observed(ssm, r.instanceId)).drift).toBeUndefined();
  });

  it('maps InsufficientInstanceCapacity on start to CLOUD_CAPACITY and leaves the instance parked', async () => {
    proxy = await startAwsProxy(moto.endpoint, (action) => (action === 'StartInstances' ? { fail: 'InsufficientInstanceCapacity', message: 'We currently do not have sufficient c6i.large capacity' } : 'forward'));
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region });
    const r = await p.launch(req('no-room', 'park'));
    await park(p, r.instanceId);
    const e = await unpark(p, r.instanceId).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isDdaError(e, 'CLOUD_CAPACITY')).toBe(true);
    expect((e as Error).message).toContain('StartInstances');
    expect(proxy.actions.filter((a) => a === 'StartInstances')).toHaveLength(1);
    const o = await observed(p, r.instanceId);
    expect(o.state).toBe('stopped');
    expect(o.parkedAt).toBeDefined();
    // The caller ends it instead: terminate works on a stopped instance.
    await p.terminate(r.instanceId);
    expect((await instance(r.instanceId)).State?.Name).toBe('terminated');
  });

  it('never parks or unparks another daemon’s instance', async () => {
    const mine = motoProvider(moto, { daemonId: 'd1' });
    const theirs = motoProvider(moto, { daemonId: 'd2' });
    const b = await theirs.launch(req('theirs', 'park'));
    await expect(park(mine, b.instanceId)).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_FAILED'));
    expect((await instance(b.instanceId)).State?.Name).not.toBe('stopped');
    expect(tagsOf((await instance(b.instanceId)).Tags)['dda:parked-at']).toBeUndefined();

    await park(theirs, b.instanceId);
    await expect(unpark(mine, b.instanceId)).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_FAILED'));
    expect((await instance(b.instanceId)).State?.Name).toBe('stopped');
    expect(tagsOf((await instance(b.instanceId)).Tags)['dda:parked-at']).toBeDefined();
    // Gone is gone: parking or unparking an unknown instance says so.
    await expect(park(mine, 'i-0123456789abcdef0')).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_NOT_FOUND'));
    await expect(unpark(mine, 'i-0123456789abcdef0')).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_NOT_FOUND'));
  });

  it('terminating a parked instance deregisters its container instance', async () => {
    const p = motoProvider(moto);
    const r = await p.launch(req('retire', 'park'));
    await registerAsEcsAgent(ecs, r.instanceId);
    await park(p, r.instanceId);
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns).toHaveLength(1);
    await p.terminate(r.instanceId);
    expect((await instance(r.instanceId)).State?.Name).toBe('terminated');
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns).toEqual([]);
    const o = await observed(p, r.instanceId);
    expect(o).toMatchObject({ state: 'terminated', registered: false });
    expect(o.parkedAt).toBeUndefined();
  });

  it('reports a stopped instance it did not park without parkedAt (stopped by someone else)', async () => {
    const p = motoProvider(moto);
    const r = await p.launch(req('stopped-by-hand'));
    await ec2.send(new StopInstancesCommand({ InstanceIds: [r.instanceId] }));
    const o = await observed(p, r.instanceId);
    expect(o.state).toBe('stopped');
    expect(o.parkedAt).toBeUndefined();
    expect(o.priming).toBeUndefined();
  });
});
