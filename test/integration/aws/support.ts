import { onTestFailed } from 'vitest';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, ECSClient, RegisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { pino, type Logger } from 'pino';
import { createAwsProvider } from '../../../src/cloud/aws/index.js';
import type { AwsConfig } from '../../../src/cloud/aws/settings.js';
import type { Clock } from '../../../src/domain/clock.js';
import type { AgentSpec } from '../../../src/ports/agent-spec.js';
import type { QueueSnapshot, QueueSource, Stage } from '../../../src/ports/queue-source.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { DdaError } from '../../../src/domain/errors.js';
import type { MotoRegion } from '../../helpers/moto.js';

/** Shared by the AWS tests (and meant for the lead's lifecycle tests against moto). */

export const CLUSTER = 'ci';
export const SECRET_REF = 'arn:aws:ssm:us-east-1:123456789012:parameter/ci/drone-rpc-secret';

/** `at`: the region a test leased of the shared moto (`leaseMotoRegion()`), or a dead endpoint for tests that fake the SDK. */
export function testAwsConfig(at: MotoRegion, over: Partial<AwsConfig> = {}): AwsConfig {
  return {
    region: at.region,
    endpoint: at.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    cluster: CLUSTER,
    ami: 'ami-12c6146b',
    instanceTypes: ['c6i.large', 'c5.large'],
    subnets: [],
    securityGroups: [],
    // moto checks that an instance profile exists (IAM); the fake EC2 tests cover the field.
    instanceProfile: undefined,
    rootDevice: '/dev/xvda',
    volumeSizeGiB: 40,
    volumeType: 'gp3',
    market: 'on-demand',
    prices: { 'c6i.large': 0.085 },
    defaultPricePerHour: 0.1,
    capacityBackoffSeconds: 300,
    taskExecutionRoleArn: 'arn:aws:iam::123456789012:role/dda-agent-exec',
    agentMemoryMiB: 512,
    agentNetworkMode: 'host',
    watchdogIdleMinutes: 60,
    watchdogMaxHours: 0,
    pools: {},
    ...over,
  };
}

export function droneSpec(over: Partial<AgentSpec> = {}): AgentSpec {
  return {
    image: 'drone/drone-runner-docker:1',
    env: { DRONE_RPC_HOST: 'ci.example.org', DRONE_RPC_PROTO: 'https', DRONE_RUNNER_CAPACITY: '2' },
    secretRefs: { DRONE_RPC_SECRET: SECRET_REF },
    nameVariable: 'DRONE_RUNNER_NAME',
    stopTimeoutSeconds: 3600,
    mountDockerSocket: true,
    ...over,
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2025, 0, 1)): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    setTimeout: () => undefined,
    clearTimeout: () => undefined,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A logger whose lines the test can read (to prove nothing secret is logged). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

export function clients(at: MotoRegion): { ec2: EC2Client; ecs: ECSClient } {
  const c = { endpoint: at.endpoint, region: at.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
  return { ec2: new EC2Client(c), ecs: new ECSClient(c) };
}

export async function createCluster(ecs: ECSClient): Promise<void> {
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
}

/**
 * What the ECS agent does when the instance boots: register it as a container instance. moto
 * needs the identity document (a JSON string holding the instance id) or it answers 500.
 */
export async function registerAsEcsAgent(ecs: ECSClient, instanceId: string, tags: { key: string; value: string }[] = []): Promise<string> {
  const out = await ecs.send(
    new RegisterContainerInstanceCommand({
      cluster: CLUSTER,
      instanceIdentityDocument: JSON.stringify({ instanceId, region: await ecs.config.region(), accountId: '123456789012' }),
      tags: tags.length ? tags : undefined,
    }),
  );
  return out.containerInstance!.containerInstanceArn!;
}

export function motoProvider(at: MotoRegion, opts: { daemonId?: string; clock?: Clock; logger?: Logger; cfg?: Partial<AwsConfig>; agents?: (pool: string) => AgentSpec } = {}) {
  return createAwsProvider(testAwsConfig(at, opts.cfg), {
    clock: opts.clock ?? manualClock(),
    logger: opts.logger ?? pino({ level: 'silent' }),
    daemonId: opts.daemonId ?? 'd1',
    agents: opts.agents ?? (() => droneSpec()),
    bootTimeoutSeconds: 600,
  });
}

/** Poll `probe` every 100 ms until it gives something, or fail naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A span of time that is itself under test (longer than a grace), not a wait for something to happen. */
export const pause = (ms: number): Promise<unknown> => new Promise((r) => setTimeout(r, ms));

/** A logger whose last `lines` lines are printed only when the test fails. */
export function failureLogs(lines = 80): ReturnType<typeof captureLogger> {
  const c = captureLogger();
  onTestFailed(() => {
    console.log(c.lines.slice(-lines).join(''));
  });
  return c;
}

/** The CI queue as a test scripts it: stages pending, running on an agent (its instance id), done. */
export class ScriptedQueue implements QueueSource {
  readonly kind = 'script';
  readonly drainStyle = 'signal' as const;
  stages: Stage[] = [];
  /** While set, every poll fails: the queue is unknown. */
  failure: DdaError | null = null;
  readonly forgotten: string[] = [];

  async probe(): Promise<void> {}
  async poll(): Promise<QueueSnapshot> {
    if (this.failure) throw this.failure;
    return { at: Date.now(), stages: this.stages.map((s) => ({ ...s })) };
  }
  async drainAgent(): Promise<void> {}
  async forgetAgent(agent: string): Promise<void> {
    this.forgotten.push(agent);
  }

  pending(id: string): void {
    this.stages.push({ id, status: 'pending', demand: DEFAULT_DEMAND, createdAt: Date.now() });
  }
  /** The agent (named by its instance id) accepts the stage and runs it. */
  run(id: string, agent: string): void {
    this.stages = this.stages.map((s) => (s.id === id ? { ...s, status: 'running', agent, startedAt: Date.now() } : s));
  }
  finish(id: string): void {
    this.stages = this.stages.filter((s) => s.id !== id);
  }
  runningOn(agent: string): boolean {
    return this.stages.some((s) => s.agent === agent);
  }
}
