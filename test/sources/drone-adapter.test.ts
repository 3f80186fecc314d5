import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { poolSchema } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { DdaError } from '../../src/domain/errors.js';
import { drone } from '../../src/sources/drone/index.js';
import { configError, DRONE_SECRET_REF as SSM, droneEnv, expectNamed } from './ci-env-fixtures.js';
import { FakeDrone } from './fake-drone.js';
import { memoryLogger } from './helpers.js';

describe('drone settings', () => {
  it('defaults (https, RPC = server, runner image, stop timeout)', () => {
    const s = drone.loadSettings(droneEnv);
    expect(s).toEqual({
      kind: 'drone',
      serverUrl: 'https://drone.example.com',
      rpcProto: 'https',
      rpcHost: 'drone.example.com',
      rpcSecretRef: SSM,
      agentImage: 'drone/drone-runner-docker:1',
      agentStopTimeoutSeconds: 120,
      mountDockerSocket: true,
      requestTimeoutMs: 10_000,
    });
    expect(s.token).toBe('tok-abc-123');
  });

  it('overrides', () => {
    const s = drone.loadSettings({ ...droneEnv, DRONE_SERVER_PROTO: 'http', DRONE_RPC_HOST: 'drone.internal:8080', DRONE_AGENT_IMAGE: 'drone/drone-runner-docker:1.8.3', DDA_CI_REQUEST_TIMEOUT: '3' });
    expect(s).toMatchObject({ serverUrl: 'http://drone.example.com', rpcProto: 'http', rpcHost: 'drone.internal:8080', agentImage: 'drone/drone-runner-docker:1.8.3', requestTimeoutMs: 3000 });
  });

  it.each([
    ['a missing token', { ...droneEnv, DRONE_SERVER_TOKEN: '' }, 'DRONE_SERVER_TOKEN'],
    ['a scheme in the host', { ...droneEnv, DRONE_SERVER_HOST: 'https://drone.example.com' }, 'DRONE_SERVER_HOST'],
    ['a bad proto', { ...droneEnv, DRONE_SERVER_PROTO: 'ftp' }, 'DRONE_SERVER_PROTO'],
    ['a missing secret ref', { ...droneEnv, DRONE_RPC_SECRET_REF: undefined }, 'DRONE_RPC_SECRET_REF'],
    ['the secret itself given to the daemon', { ...droneEnv, DRONE_RPC_SECRET: 'plain' }, 'DRONE_RPC_SECRET'],
    ['a global runner capacity', { ...droneEnv, DRONE_RUNNER_CAPACITY: '4' }, 'DRONE_RUNNER_CAPACITY'],
    ['a bad timeout', { ...droneEnv, DDA_CI_REQUEST_TIMEOUT: 'soon' }, 'DDA_CI_REQUEST_TIMEOUT'],
  ])('%s → CONFIG_INVALID naming %s', (_w, env, variable) => {
    expectNamed(configError(() => drone.loadSettings(env)), variable);
  });

  it('a secret pasted where its reference belongs is refused without echoing it', () => {
    const e = configError(() => drone.loadSettings({ ...droneEnv, DRONE_RPC_SECRET_REF: 'correct-horse-battery' }));
    expect(e.message).toContain('DRONE_RPC_SECRET_REF');
    expect(e.message).not.toContain('correct-horse-battery');
  });
});

describe('drone agent spec', () => {
  const plain = poolSchema.parse({ name: 'default', concurrency: 2 });
  const arm = poolSchema.parse({ name: 'arm', concurrency: 3, demand: { arch: 'arm64', variant: 'v8', labels: { size: 'xl', gpu: 'yes' } } });
  const settings = drone.loadSettings(droneEnv);

  it('RPC, capacity from the pool, platform, sorted labels, secret by reference', () => {
    expect(drone.agentSpec(settings, arm)).toEqual({
      image: 'drone/drone-runner-docker:1',
      env: {
        DRONE_RPC_PROTO: 'https',
        DRONE_RPC_HOST: 'drone.example.com',
        DRONE_RUNNER_CAPACITY: '3',
        DRONE_PLATFORM_OS: 'linux',
        DRONE_PLATFORM_ARCH: 'arm64',
        DRONE_PLATFORM_VARIANT: 'v8',
        DRONE_RUNNER_LABELS: 'gpu:yes,size:xl',
      },
      secretRefs: { DRONE_RPC_SECRET: SSM },
      nameVariable: 'DRONE_RUNNER_NAME',
      stopTimeoutSeconds: 120,
      mountDockerSocket: true,
    });
    expect(drone.agentSpec(settings, plain).env).not.toHaveProperty('DRONE_RUNNER_LABELS');
  });

  it('labels that cannot be written for the runner are a config error naming the pool', () => {
    const bad = poolSchema.parse({ name: 'odd', demand: { labels: { 'a:b': 'c' } } });
    expect(() => drone.agentSpec(settings, bad)).toThrow(DdaError);
    expect(() => drone.agentSpec(settings, bad)).toThrow(/^pools\.odd: /);
  });
});

describe('drone source from settings', () => {
  let fake: FakeDrone | undefined;
  afterEach(async () => fake?.close());

  it('polls the configured server with the configured token', async () => {
    fake = await FakeDrone.start({ token: 'tok-abc-123' });
    fake.addStage({ id: 7 });
    const settings = drone.loadSettings({ ...droneEnv, DRONE_SERVER_HOST: new URL(fake.url).host, DRONE_SERVER_PROTO: 'http' });
    const dispatcher = new Agent();
    const source = drone.createSource(settings, { clock: systemClock, logger: memoryLogger().logger, dispatcher });
    expect(source.kind).toBe('drone');
    await source.probe();
    expect((await source.poll()).stages.map((s) => s.id)).toEqual(['7']);
    await dispatcher.close();
  });
});
