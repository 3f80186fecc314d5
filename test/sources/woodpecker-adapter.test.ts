import { describe, expect, it } from 'vitest';
import { poolSchema } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { woodpecker } from '../../src/sources/woodpecker/index.js';
import { configError, expectNamed, woodpeckerEnv } from './ci-env-fixtures.js';
import { memoryLogger } from './helpers.js';

describe('woodpecker settings', () => {
  it('loads, with the default agent image', () => {
    expect(woodpecker.loadSettings(woodpeckerEnv)).toMatchObject({ kind: 'woodpecker', serverUrl: 'https://ci.example.com', grpcAddr: 'ci.example.com:9000', agentImage: 'woodpeckerci/woodpecker-agent:v3' });
  });

  it.each([
    ['woodpecker without gRPC address', { ...woodpeckerEnv, WOODPECKER_GRPC_ADDR: '' }, 'WOODPECKER_GRPC_ADDR'],
    ['woodpecker server not a URL', { ...woodpeckerEnv, WOODPECKER_SERVER: 'ci.example.com' }, 'WOODPECKER_SERVER'],
    ['the agent secret itself given to the daemon', { ...woodpeckerEnv, WOODPECKER_AGENT_SECRET: 'plain' }, 'WOODPECKER_AGENT_SECRET'],
    ['a global max workflows', { ...woodpeckerEnv, WOODPECKER_MAX_WORKFLOWS: '4' }, 'WOODPECKER_MAX_WORKFLOWS'],
    ['a gRPC secure flag that is not a boolean', { ...woodpeckerEnv, WOODPECKER_GRPC_SECURE: 'yes' }, 'WOODPECKER_GRPC_SECURE'],
  ])('%s → CONFIG_INVALID naming %s', (_w, env, variable) => {
    expectNamed(configError(() => woodpecker.loadSettings(env)), variable);
  });

  it('a server URL with credentials in it is refused without echoing it', () => {
    const e = configError(() => woodpecker.loadSettings({ ...woodpeckerEnv, WOODPECKER_SERVER: 'https://admin:hunter2@ci.example.com' }));
    expectNamed(e, 'WOODPECKER_SERVER');
    expect(e.message).not.toContain('hunter2');
  });
});

describe('woodpecker agent spec', () => {
  const arm = poolSchema.parse({ name: 'arm', concurrency: 3, demand: { arch: 'arm64', variant: 'v8', labels: { size: 'xl', gpu: 'yes' } } });

  it('gRPC address, max workflows, labels with platform', () => {
    const spec = woodpecker.agentSpec(woodpecker.loadSettings({ ...woodpeckerEnv, WOODPECKER_GRPC_SECURE: 'true' }), arm);
    expect(spec.env).toEqual({
      WOODPECKER_SERVER: 'ci.example.com:9000',
      WOODPECKER_MAX_WORKFLOWS: '3',
      WOODPECKER_BACKEND: 'docker',
      WOODPECKER_AGENT_LABELS: 'platform=linux/arm64/v8,gpu=yes,size=xl',
      WOODPECKER_GRPC_SECURE: 'true',
    });
    expect(spec.secretRefs).toEqual({ WOODPECKER_AGENT_SECRET: woodpeckerEnv.WOODPECKER_AGENT_SECRET_REF });
    expect(spec.nameVariable).toBe('WOODPECKER_HOSTNAME');
  });

  it('a kernel or a "platform" label is a config error naming the pool', () => {
    const s = woodpecker.loadSettings(woodpeckerEnv);
    expect(() => woodpecker.agentSpec(s, poolSchema.parse({ name: 'k', demand: { kernel: '6.1' } }))).toThrow(/^pools\.k: /);
    expect(() => woodpecker.agentSpec(s, poolSchema.parse({ name: 'p', demand: { labels: { platform: 'x' } } }))).toThrow(/^pools\.p: /);
  });
});

describe('woodpecker source from settings', () => {
  it('has the server drain style', () => {
    expect(woodpecker.createSource(woodpecker.loadSettings(woodpeckerEnv), { clock: systemClock, logger: memoryLogger().logger })).toMatchObject({ kind: 'woodpecker', drainStyle: 'server' });
  });
});
