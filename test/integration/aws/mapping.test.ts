import type { Instance } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { classifyAwsError, safeAwsMessage, toCloudError } from '../../../src/cloud/aws/errors.js';
import { agentStateOf, driftOf, observeFleet, type FleetFacts } from '../../../src/cloud/aws/fleet.js';
import { startedByFor } from '../../../src/cloud/aws/provider.js';
import { buildTaskDefinition, taskFamily } from '../../../src/cloud/aws/task-definition.js';
import { buildUserData } from '../../../src/cloud/aws/user-data.js';
import { droneSpec } from './support.js';

const err = (name: string, status = 400, extra: object = {}) => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

describe('AWS error mapping', () => {
  it.each([
    ['InsufficientInstanceCapacity', 'CLOUD_CAPACITY'],
    ['SpotMaxPriceTooLow', 'CLOUD_CAPACITY'],
    ['Unsupported', 'CLOUD_CAPACITY'],
    ['InsufficientCapacity', 'CLOUD_CAPACITY'],
    ['InstanceLimitExceeded', 'CLOUD_LIMIT'],
    ['VcpuLimitExceeded', 'CLOUD_LIMIT'],
    ['MaxSpotInstanceCountExceeded', 'CLOUD_LIMIT'],
    ['RequestLimitExceeded', 'CLOUD_THROTTLED'],
    ['ThrottlingException', 'CLOUD_THROTTLED'],
    ['Throttling', 'CLOUD_THROTTLED'],
    ['TooManyRequestsException', 'CLOUD_THROTTLED'],
    ['EC2ThrottledException', 'CLOUD_THROTTLED'],
    ['PriorRequestNotComplete', 'CLOUD_THROTTLED'],
    ['InvalidInstanceID.NotFound', 'CLOUD_NOT_FOUND'],
    ['InvalidAMIID.Malformed', 'CLOUD_FAILED'],
    ['UnauthorizedOperation', 'CLOUD_FAILED'],
  ])('%s → %s', (name, code) => {
    expect(classifyAwsError(err(name))).toBe(code);
  });

  it('maps 5xx, server faults and network errors to CLOUD_UNAVAILABLE', () => {
    expect(classifyAwsError(err('SyntaxError', 500))).toBe('CLOUD_UNAVAILABLE');
    expect(classifyAwsError(err('ServerException', 500))).toBe('CLOUD_UNAVAILABLE');
    expect(classifyAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('CLOUD_UNAVAILABLE');
    expect(classifyAwsError(err('TimeoutError', 0))).toBe('CLOUD_UNAVAILABLE');
    expect(classifyAwsError(err('Whatever', 429))).toBe('CLOUD_THROTTLED');
    expect(classifyAwsError(err('Whatever', 400, { $retryable: { throttling: true } }))).toBe('CLOUD_THROTTLED');
    expect(classifyAwsError(err('Whatever', 400, { $retryable: { throttling: false } }))).toBe('CLOUD_FAILED');
  });

  it('keeps messages one short line without keys, signatures or encoded blobs, and drops the raw error', () => {
    const raw = err('UnauthorizedOperation', 403, { $response: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/...' } } });
    raw.message = 'You are not authorized. Encoded authorization failure message: QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=QUJD\nsecond line';
    const e = toCloudError(raw, 'RunInstances', { instanceType: 'c6i.large' });
    expect(e.message).toBe('RunInstances: UnauthorizedOperation: You are not authorized. encoded authorization failure message omitted');
    expect(e.cause).toBeUndefined();
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain('AKIA');
    expect(safeAwsMessage(new Error('bad key AKIAIOSFODNN7EXAMPLE in Credential=abc/123'))).toBe('bad key [key] in Credential=[redacted]');
  });
});

describe('fleet mapping', () => {
  it('maps task status to agent state, keeping a stopping agent running until its container exits', () => {
    const s = (lastStatus: string) => agentStateOf({ lastStatus });
    expect(['PROVISIONING', 'PENDING', 'ACTIVATING'].map(s)).toEqual(['pending', 'pending', 'pending']);
    expect(['RUNNING', 'DEACTIVATING', 'STOPPING'].map(s)).toEqual(['running', 'running', 'running']);
    expect(['DEPROVISIONING', 'STOPPED'].map(s)).toEqual(['stopped', 'stopped']);
  });

  const inst = (id: string, over: Partial<Instance> = {}, daemon = 'd1'): Instance => ({
    InstanceId: id,
    InstanceType: 'c6i.large',
    State: { Name: 'running' },
    LaunchTime: new Date(Date.UTC(2025, 0, 1)),
    Tags: [
      { Key: 'dda:daemon', Value: daemon },
      { Key: 'dda:pool', Value: 'p' },
      { Key: 'dda:key', Value: `k-${id}` },
    ],
    ...over,
  });
  const facts = (f: Partial<FleetFacts>): FleetFacts => ({ daemonId: 'd1', instances: [], containerInstances: [], tasks: [], spotRequests: [], prices: {}, defaultPricePerHour: 0.2, now: 1000, ...f });

  it('joins instances, container instances and tasks; the best task wins; other daemons are dropped', () => {
    const out = observeFleet(
      facts({
        instances: [inst('i-1'), inst('i-2'), inst('i-3', {}, 'd2')],
        containerInstances: [
          { containerInstanceArn: 'ci/old', ec2InstanceId: 'i-1', status: 'INACTIVE' },
          { containerInstanceArn: 'ci/1', ec2InstanceId: 'i-1', status: 'DRAINING' },
          { containerInstanceArn: 'ci/3', ec2InstanceId: 'i-3', status: 'ACTIVE' },
        ],
        tasks: [
          { containerInstanceArn: 'ci/1', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' },
          { containerInstanceArn: 'ci/1', lastStatus: 'RUNNING', desiredStatus: 'STOPPED' },
        ],
      }),
    );
    expect(out.map((o) => o.instanceId)).toEqual(['i-1', 'i-2']);
    expect(out[0]).toMatchObject({ key: 'k-i-1', pool: 'p', registered: true, draining: true, agent: 'running', pricePerHour: 0.2, launchedAt: Date.UTC(2025, 0, 1), market: 'on-demand' });
    expect(out[1]).toMatchObject({ registered: false, draining: false, agent: 'none' });
  });

  it('sees a spot interruption in the spot request status or in the state reason, and nowhere else', () => {
    const out = observeFleet(
      facts({
        instances: [
          inst('i-1', { InstanceLifecycle: 'spot' }),
          inst('i-2', { InstanceLifecycle: 'spot', State: { Name: 'shutting-down' }, StateReason: { Code: 'Server.SpotInstanceTermination' } }),
          inst('i-3', { InstanceLifecycle: 'spot' }),
        ],
        spotRequests: [
          { InstanceId: 'i-1', Status: { Code: 'marked-for-termination', UpdateTime: new Date(500) } },
          { InstanceId: 'i-3', Status: { Code: 'fulfilled' } },
        ],
      }),
    );
    expect(out.map((o) => [o.market, o.interruptionAt])).toEqual([
      ['spot', 500],
      ['spot', 1000],
      ['spot', undefined],
    ]);
  });
});

describe('warm pool facts', () => {
  const inst = (id: string, state: string, tags: Record<string, string> = {}): Instance => ({
    InstanceId: id,
    InstanceType: 'c6i.large',
    ImageId: 'ami-00000000000000001',
    State: { Name: state as 'running' },
    Tags: [{ Key: 'dda:daemon', Value: 'd1' }, { Key: 'dda:pool', Value: 'p' }, ...Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))],
  });
  const facts = (f: Partial<FleetFacts>): FleetFacts => ({ daemonId: 'd1', instances: [], containerInstances: [], tasks: [], spotRequests: [], prices: {}, defaultPricePerHour: 0.2, now: 1000, ...f });

  it('reads parkedAt only while stopping, stopped or starting again, and priming only until parked', () => {
    const parked = { 'dda:parked-at': '5000' };
    const out = observeFleet(
      facts({
        instances: [
          inst('i-stopped', 'stopped', parked),
          inst('i-stopping', 'stopping', parked),
          inst('i-pending', 'pending', parked),
          inst('i-running', 'running', parked),
          inst('i-priming', 'running', { 'dda:purpose': 'park' }),
          inst('i-crashed', 'stopped', { 'dda:purpose': 'park', ...parked }),
          inst('i-garbled', 'stopped', { 'dda:parked-at': 'yesterday' }),
          inst('i-gone', 'terminated', { 'dda:purpose': 'park' }),
        ],
        storageGb: 30,
      }),
    );
    expect(out.map((o) => [o.instanceId, o.parkedAt, o.priming, o.storageGb])).toEqual([
      ['i-stopped', 5000, undefined, 30],
      ['i-stopping', 5000, undefined, 30],
      ['i-pending', 5000, undefined, 30],
      ['i-running', undefined, undefined, 30],
      ['i-priming', undefined, true, 30],
      ['i-crashed', 5000, undefined, 30],
      ['i-garbled', undefined, undefined, 30],
      ['i-gone', undefined, undefined, undefined],
    ]);
  });

  it('counts a started instance registered only once its agent has reconnected; a parked one keeps its registration', () => {
    const out = observeFleet(
      facts({
        instances: [inst('i-1', 'running'), inst('i-2', 'stopped'), inst('i-3', 'running')],
        containerInstances: [
          { containerInstanceArn: 'ci/1', ec2InstanceId: 'i-1', status: 'ACTIVE', agentConnected: false },
          { containerInstanceArn: 'ci/2', ec2InstanceId: 'i-2', status: 'ACTIVE', agentConnected: false },
          { containerInstanceArn: 'ci/3', ec2InstanceId: 'i-3', status: 'ACTIVE', agentConnected: true },
        ],
      }),
    );
    expect(out.map((o) => o.registered)).toEqual([false, true, true]);
  });

  it('names both values in a drift, and compares only concrete image ids', () => {
    const settings = (ami: string | undefined, types: string[]) => ({ ami: () => ami, instanceTypes: () => types });
    const i = inst('i-1', 'stopped');
    expect(driftOf(i, 'p', settings('ami-00000000000000001', ['c6i.large']))).toBeUndefined();
    expect(driftOf(i, 'p', settings('ami-00000000000000002', ['c6i.large']))).toBe('image ami-00000000000000001 is not the configured ami-00000000000000002');
    expect(driftOf(i, 'p', settings('resolve:ssm:/x', ['m7i.large', 'c7i.large']))).toBe('instance type c6i.large is not among the configured m7i.large,c7i.large');
  });
});

describe('user data and task definition', () => {
  it('writes the cluster, the stop timeout and the watchdog, and nothing else', () => {
    const ud = buildUserData({ cluster: 'ci', stopTimeoutSeconds: 7200, watchdogIdleMinutes: 45 });
    expect(ud).toContain('ECS_CLUSTER=ci\n');
    expect(ud).toContain('ECS_CONTAINER_STOP_TIMEOUT=7200s');
    expect(ud).toContain('ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM=ec2_instance');
    expect(ud).toContain('limit=2700');
    expect(buildUserData({ cluster: 'ci', stopTimeoutSeconds: 0, watchdogIdleMinutes: 0 })).not.toMatch(/watchdog|STOP_TIMEOUT/);
    expect(() => buildUserData({ cluster: 'ci\nECS_X=1', stopTimeoutSeconds: 0, watchdogIdleMinutes: 0 })).toThrow();
  });

  it('pulls the agent image only when asked, and refuses an image reference a shell would read', () => {
    expect(buildUserData({ cluster: 'ci', stopTimeoutSeconds: 0, watchdogIdleMinutes: 0, prefetchImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/runner:1.8@sha256:abc' })).toContain(
      "docker pull '123456789012.dkr.ecr.eu-west-1.amazonaws.com/runner:1.8@sha256:abc'",
    );
    for (const bad of ["drone/runner'; rm -rf /", 'a b', '$(id)', '']) {
      expect(() => buildUserData({ cluster: 'ci', stopTimeoutSeconds: 0, watchdogIdleMinutes: 0, prefetchImage: bad })).toThrow(/image/);
    }
  });

  it('refuses secret references without an execution role, and never puts the name variable in the environment', () => {
    const input = { daemonId: 'd1', pool: 'p', spec: droneSpec({ env: { DRONE_RUNNER_NAME: 'static', A: 'b' } }), memoryMiB: 256, networkMode: 'bridge' as const };
    expect(() => buildTaskDefinition(input)).toThrow(/DDA_TASK_EXECUTION_ROLE/);
    const td = buildTaskDefinition({ ...input, executionRoleArn: 'arn:aws:iam::123456789012:role/x' });
    expect(td.containerDefinitions![0]!.environment).toEqual([{ name: 'A', value: 'b' }]);
    expect(taskFamily('my.daemon', 'p')).toBe('dda-my-daemon-p');
  });

  it('fits the daemon id into ECS startedBy (36 characters)', () => {
    expect(startedByFor('d1')).toBe('d1');
    const long = startedByFor('a.very.long.daemon.identifier.that.goes.on');
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
    expect(long).toBe(startedByFor('a.very.long.daemon.identifier.that.goes.on'));
  });
});
