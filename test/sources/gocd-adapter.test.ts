import { describe, expect, it } from 'vitest';
import { poolSchema } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { gocd } from '../../src/sources/gocd/index.js';
import { configError, expectNamed, gocdEnv } from './ci-env-fixtures.js';
import { memoryLogger } from './helpers.js';

describe('gocd settings', () => {
  it('token or user/password', () => {
    expect(gocd.loadSettings(gocdEnv)).toMatchObject({ kind: 'gocd', serverUrl: 'https://gocd.example.com/go', agentServerUrl: 'https://gocd.example.com/go', mountDockerSocket: false });
    expect(gocd.loadSettings(gocdEnv).auth).toEqual({ kind: 'bearer', token: 'gocd-tok-7' });
    const basic = gocd.loadSettings({ ...gocdEnv, GOCD_TOKEN: undefined, GOCD_USERNAME: 'admin', GOCD_PASSWORD: 'pw' });
    expect(basic.auth).toEqual({ kind: 'basic', user: 'admin', password: 'pw' });
  });

  it.each([
    ['gocd URL without /go', { ...gocdEnv, GOCD_SERVER_URL: 'https://gocd.example.com' }, 'GOCD_SERVER_URL'],
    ['gocd without credentials', { ...gocdEnv, GOCD_TOKEN: undefined }, 'GOCD_TOKEN'],
    ['gocd with a token and a user', { ...gocdEnv, GOCD_USERNAME: 'admin' }, 'GOCD_TOKEN'],
    ['gocd user without password', { ...gocdEnv, GOCD_TOKEN: undefined, GOCD_USERNAME: 'admin' }, 'GOCD_PASSWORD'],
    ['gocd password without user', { ...gocdEnv, GOCD_TOKEN: undefined, GOCD_PASSWORD: 'pw' }, 'GOCD_USERNAME'],
    ['gocd without agent image', { ...gocdEnv, GOCD_AGENT_IMAGE: undefined }, 'GOCD_AGENT_IMAGE'],
    ['the auto-register key itself given to the daemon', { ...gocdEnv, GOCD_AUTO_REGISTER_KEY: 'plain' }, 'GOCD_AUTO_REGISTER_KEY'],
  ])('%s → CONFIG_INVALID naming %s', (_w, env, variable) => {
    expectNamed(configError(() => gocd.loadSettings(env)), variable);
  });
});

describe('gocd agent spec', () => {
  it('resources and environment from labels; other platforms refused', () => {
    const p = poolSchema.parse({ name: 'big', demand: { labels: { docker: 'true', large: 'true', environment: 'ci' } } });
    const spec = gocd.agentSpec(gocd.loadSettings(gocdEnv), p);
    expect(spec.env).toEqual({ GO_SERVER_URL: 'https://gocd.example.com/go', AGENT_AUTO_REGISTER_RESOURCES: 'docker,large', AGENT_AUTO_REGISTER_ENVIRONMENTS: 'ci' });
    expect(spec.secretRefs).toEqual({ AGENT_AUTO_REGISTER_KEY: gocdEnv.GOCD_AUTO_REGISTER_KEY_REF });
    expect(spec.nameVariable).toBe('AGENT_AUTO_REGISTER_HOSTNAME');
    const arm = poolSchema.parse({ name: 'arm', concurrency: 3, demand: { arch: 'arm64', variant: 'v8', labels: { size: 'xl', gpu: 'yes' } } });
    expect(() => gocd.agentSpec(gocd.loadSettings(gocdEnv), arm)).toThrow(/pools\.arm/);
  });
});

describe('gocd source from settings', () => {
  it('has the server drain style', () => {
    expect(gocd.createSource(gocd.loadSettings(gocdEnv), { clock: systemClock, logger: memoryLogger().logger })).toMatchObject({ kind: 'gocd', drainStyle: 'server' });
  });
});
