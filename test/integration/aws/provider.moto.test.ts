import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, DescribeVolumesCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeContainerInstancesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ListContainerInstancesCommand, ListTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { isDdaError } from '../../../src/domain/errors.js';
import type { LaunchRequest } from '../../../src/ports/cloud-provider.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import { leaseMotoRegion, startMoto, type MotoRegion } from '../../helpers/moto.js';
import { CLUSTER, SECRET_REF, captureLogger, clients, createCluster, droneSpec, manualClock, motoProvider, registerAsEcsAgent } from './support.js';

let moto: MotoRegion;
let ec2: EC2Client;
let ecs: ECSClient;

// Each test has a region of the integration project's moto_server to itself: an empty account.
beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2, ecs } = clients(moto));
  await createCluster(ecs);
});

const req = (key: string, pool = 'default'): LaunchRequest => ({ key, pool, demand: DEFAULT_DEMAND, concurrency: 2 });

async function instance(id: string) {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe('AWS provider against moto', () => {
  it('launches a tagged, IMDSv2-only instance whose user data joins the cluster and holds no secret', async () => {
    const clock = manualClock(Date.UTC(2025, 5, 1, 12));
    const { logger, lines } = captureLogger();
    const p = motoProvider(moto, { clock, logger });
    const r = await p.launch(req('actor-1'));
    expect(r).toMatchObject({ instanceType: 'c6i.large', market: 'on-demand', pricePerHour: 0.085 });

    const i = await instance(r.instanceId);
    expect(tagsOf(i.Tags)).toMatchObject({
      'dda:daemon': 'd1',
      'dda:pool': 'default',
      'dda:key': 'actor-1',
      'dda:launched-at': '2025-06-01T12:00:00.000Z',
      'dda:billing-start': '2025-06-01T12:00:00.000Z',
      Name: 'dda-d1-default',
    });
    expect(i.MetadataOptions?.HttpTokens).toBe('required');
    expect(i.ImageId).toBe('ami-12c6146b');

    const vols = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [r.instanceId] }] }));
    expect(vols.Volumes!.length).toBeGreaterThan(0);
    expect(tagsOf(vols.Volumes![0]!.Tags)['dda:daemon']).toBe('d1');

    const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: r.instanceId, Attribute: 'userData' }));
    const userData = Buffer.from(ud.UserData!.Value!, 'base64').toString('utf8');
    expect(userData).toContain('ECS_CLUSTER=ci\n');
    expect(userData).toContain('ECS_CONTAINER_STOP_TIMEOUT=3600s');
    expect(userData).toContain('dda-watchdog.timer');
    expect(userData).not.toContain(SECRET_REF);
    expect(userData).not.toContain('DRONE_RPC_SECRET');
    expect(userData).not.toContain('ci.example.org');

    const sd = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: r.instanceId, Attribute: 'instanceInitiatedShutdownBehavior' }));
    expect(sd.InstanceInitiatedShutdownBehavior?.Value).toBe('terminate');
    expect(lines.join('')).not.toContain(SECRET_REF);
  });

  it('fails a launch AWS refuses with a one-line error that carries no credentials', async () => {
    const { logger, lines } = captureLogger();
    // moto checks the instance profile exists; this one does not.
    const p = motoProvider(moto, { logger, cfg: { instanceProfile: 'missing-profile', credentials: { accessKeyId: 'AKIAMOTOTESTKEY00001', secretAccessKey: 'moto-secret-key-value' } } });
    const e = await p.launch(req('refused')).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isDdaError(e, 'CLOUD_FAILED')).toBe(true);
    const everything = JSON.stringify({ message: (e as Error).message, details: (e as { details: unknown }).details, cause: (e as Error).cause }) + lines.join('');
    expect(everything).toContain('missing-profile');
    for (const s of ['AKIAMOTOTESTKEY00001', 'moto-secret-key-value', 'Signature=']) expect(everything).not.toContain(s);
  });

  it('fails loudly, with the fix, when moto_server is missing', async () => {
    await expect(startMoto({ command: 'moto_server_that_is_not_installed' })).rejects.toThrow(/pip install 'moto\[server\]'/);
  });

  it('launches spot first under spot-then-on-demand and describes it as spot', async () => {
    const p = motoProvider(moto, { cfg: { market: 'spot-then-on-demand' } });
    const r = await p.launch(req('actor-spot'));
    expect(r.market).toBe('spot');
    const snap = await p.describe();
    expect(snap.instances.find((o) => o.instanceId === r.instanceId)?.market).toBe('spot');
  });

  it('describes only its own fleet: not another daemon, not untagged instances', async () => {
    const mine = motoProvider(moto, { daemonId: 'd1' });
    const theirs = motoProvider(moto, { daemonId: 'd2' });
    const a = await mine.launch(req('a'));
    const b = await theirs.launch(req('b'));
    await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));

    const snap = await mine.describe();
    expect(snap.instances.map((o) => o.instanceId)).toEqual([a.instanceId]);
    expect(snap.instances[0]).toMatchObject({ key: 'a', pool: 'default', registered: false, agent: 'none', draining: false, instanceType: 'c6i.large' });
    expect(['pending', 'running']).toContain(snap.instances[0]!.state);
    expect((await theirs.describe()).instances.map((o) => o.instanceId)).toEqual([b.instanceId]);

    // The fence holds for mutations too.
    await expect(mine.terminate(b.instanceId)).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_FAILED'));
    expect((await instance(b.instanceId)).State?.Name).not.toBe('terminated');
  });

  it('registers the agent task definition with secrets by reference only, once per spec', async () => {
    let spec = droneSpec();
    const p = motoProvider(moto, { agents: () => spec });
    const a = await p.launch(req('a'));
    const b = await p.launch(req('b'));
    await registerAsEcsAgent(ecs, a.instanceId);
    await registerAsEcsAgent(ecs, b.instanceId);
    await p.startAgent(a.instanceId, 'dda-a', 'default');
    await p.startAgent(b.instanceId, 'dda-b', 'default');

    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'dda-d1-default' }))).taskDefinition!;
    expect(td.revision).toBe(1);
    expect(td.requiresCompatibilities).toEqual(['EC2']);
    expect(td.networkMode).toBe('host');
    expect(td.executionRoleArn).toBe('arn:aws:iam::123456789012:role/dda-agent-exec');
    const c = td.containerDefinitions![0]!;
    expect(c.secrets).toEqual([{ name: 'DRONE_RPC_SECRET', valueFrom: SECRET_REF }]);
    expect(c.environment!.map((e) => e.name).sort()).toEqual(['DRONE_RPC_HOST', 'DRONE_RPC_PROTO', 'DRONE_RUNNER_CAPACITY']);
    // 3600 s is past ECS's 120 s cap: left to ECS_CONTAINER_STOP_TIMEOUT from user data.
    expect(c.stopTimeout).toBeUndefined();
    expect(c.mountPoints).toEqual([expect.objectContaining({ sourceVolume: 'docker-socket', containerPath: '/var/run/docker.sock' })]);
    // The only place the secret's reference appears is valueFrom; no environment entry carries it.
    const json = JSON.stringify(td);
    expect(json.split(SECRET_REF).length - 1).toBe(1);

    spec = droneSpec({ image: 'drone/drone-runner-docker:1.8.4', stopTimeoutSeconds: 90 });
    const c2 = await p.launch(req('c'));
    await registerAsEcsAgent(ecs, c2.instanceId);
    await p.startAgent(c2.instanceId, 'dda-c', 'default');
    const td2 = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'dda-d1-default' }))).taskDefinition!;
    expect(td2.revision).toBe(2);
    expect(td2.containerDefinitions![0]!.stopTimeout).toBe(90);
  });

  it('walks one instance through boot, agent, drain and terminate', async () => {
    const p = motoProvider(moto);
    const r = await p.launch(req('life'));
    await expect(p.startAgent(r.instanceId, 'dda-life', 'default')).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_FAILED'));

    const ciArn = await registerAsEcsAgent(ecs, r.instanceId);
    let o = (await p.describe()).instances[0]!;
    expect(o).toMatchObject({ registered: true, agent: 'none', draining: false });

    await p.startAgent(r.instanceId, 'dda-life', 'default');
    await p.startAgent(r.instanceId, 'dda-life', 'default'); // retried command: still one agent
    const taskArns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER }))).taskArns!;
    expect(taskArns).toHaveLength(1);
    const task = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }))).tasks![0]!;
    expect(task.startedBy).toBe('d1');
    expect(task.containerInstanceArn).toBe(ciArn);
    expect(task.overrides?.containerOverrides?.[0]?.environment).toEqual([{ name: 'DRONE_RUNNER_NAME', value: 'dda-life' }]);
    o = (await p.describe()).instances[0]!;
    expect(o.agent).toBe('running');

    await p.drainAgent(r.instanceId, true);
    const ci = (await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [ciArn] }))).containerInstances![0]!;
    expect(ci.status).toBe('DRAINING');
    o = (await p.describe()).instances[0]!;
    expect(o).toMatchObject({ draining: true, agent: 'stopped', registered: true });

    await p.terminate(r.instanceId);
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns).toEqual([]);
    o = (await p.describe()).instances[0]!;
    expect(o.state).toBe('terminated');
    expect(o.registered).toBe(false);

    // Terminate is idempotent, and an id AWS never heard of is already gone.
    await p.terminate(r.instanceId);
    await p.terminate('i-0123456789abcdef0');
  });

  it('drains without stopping the agent when the CI server drains it (server style)', async () => {
    const p = motoProvider(moto);
    const r = await p.launch(req('srv'));
    await registerAsEcsAgent(ecs, r.instanceId);
    await p.startAgent(r.instanceId, 'dda-srv', 'default');
    await p.drainAgent(r.instanceId, false);
    const o = (await p.describe()).instances[0]!;
    expect(o).toMatchObject({ draining: true, agent: 'running' });
  });

  it('reaps container instances whose instance is terminated, with their tasks, and nothing of another daemon', async () => {
    const p = motoProvider(moto, { daemonId: 'd1' });
    const other = motoProvider(moto, { daemonId: 'd2' });
    const dead = await p.launch(req('dead'));
    const alive = await p.launch(req('alive'));
    const theirs = await other.launch(req('theirs'));
    const deadCi = await registerAsEcsAgent(ecs, dead.instanceId);
    const aliveCi = await registerAsEcsAgent(ecs, alive.instanceId);
    const theirCi = await registerAsEcsAgent(ecs, theirs.instanceId);
    await p.startAgent(dead.instanceId, 'dda-dead', 'default');
    await p.startAgent(alive.instanceId, 'dda-alive', 'default');
    // Ended behind the daemon's back (watchdog, spot reclaim, a human): the ECS side stays.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [dead.instanceId, theirs.instanceId] }));

    // One of our two container instances: within the default share of 0.5, reaped.
    const reaped = await p.reapOrphans();
    expect(reaped.map((r) => r.kind).sort()).toEqual(['container-instance', 'task']);
    expect(reaped.find((r) => r.kind === 'container-instance')).toMatchObject({ id: deadCi, reason: 'its EC2 instance is terminated' });

    const left = (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns!;
    expect(left.sort()).toEqual([aliveCi, theirCi].sort());
    const o = (await p.describe()).instances.find((x) => x.instanceId === alive.instanceId)!;
    expect(o.agent).toBe('running');
    expect(await p.reapOrphans()).toEqual([]);
  });

  it('holds a round in which most of the fleet looks orphaned at once, says so in one warning, and reaps once the share is allowed', async () => {
    const { logger, lines } = captureLogger();
    const p = motoProvider(moto, { daemonId: 'd1', logger });
    const launched = [];
    for (const k of ['a', 'b', 'c']) {
      const r = await p.launch(req(k));
      await registerAsEcsAgent(ecs, r.instanceId);
      await p.startAgent(r.instanceId, `dda-${k}`, 'default');
      launched.push(r.instanceId);
    }
    // Two of three gone at once: what an API answering strangely would also look like.
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: launched.slice(0, 2) }));
    const before = (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns!;

    expect(await p.reapOrphans(undefined, { maxShare: 0.5 })).toEqual([]);
    const held = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.startsWith('reaping held'));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ level: 40, msg: 'reaping held: 2 of 3 container instances (67 %) look orphaned at once, more than runtime.reapMaxShare 0.5; nothing reaped this round' });
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns!.sort()).toEqual(before.sort());
    const running = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: 'RUNNING' }));
    expect(running.taskArns).toHaveLength(3);

    const reaped = await p.reapOrphans(undefined, { maxShare: 1 });
    expect(reaped.filter((r) => r.kind === 'container-instance')).toHaveLength(2);
    expect((await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns).toHaveLength(1);
  });
});
