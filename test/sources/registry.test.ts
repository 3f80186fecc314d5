import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { poolSchema } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { CI_SERVERS, primaryVariables, selectCiServer } from '../../src/sources/registry.js';
import { configError, droneEnv, expectNamed, gocdEnv, woodpeckerEnv } from './ci-env-fixtures.js';
import { FakeHttpServer } from './fake-http.js';
import { memoryLogger } from './helpers.js';
import { stub } from './stub-server/index.js';

describe('selectCiServer', () => {
  it('no CI server configured → undefined (the simulator runs)', () => {
    expect(selectCiServer({ PATH: '/bin', HOME: '/root' })).toBeUndefined();
  });

  it.each([
    ['drone', droneEnv],
    ['woodpecker', woodpeckerEnv],
    ['gocd', gocdEnv],
  ])('%s: the server whose primary variable is set, with its settings', (kind, env) => {
    const ci = selectCiServer(env)!;
    expect(ci.server.kind).toBe(kind);
    expect(ci.settings.kind).toBe(kind);
  });

  it('tokens never serialise with the settings', () => {
    for (const env of [droneEnv, woodpeckerEnv, gocdEnv]) {
      const { settings } = selectCiServer(env)!;
      expect(JSON.stringify(settings)).not.toMatch(/tok-/);
      expect(Object.keys(settings)).not.toContain('token');
      expect(Object.keys(settings)).not.toContain('auth');
    }
  });

  it.each([
    ['two servers', { ...droneEnv, ...woodpeckerEnv }, 'DRONE_SERVER_HOST, WOODPECKER_SERVER'],
    ['a stray variable of another server', { ...droneEnv, WOODPECKER_TOKEN: 'x' }, 'WOODPECKER_TOKEN'],
    ['a half-configured server', { DRONE_SERVER_TOKEN: 'x' }, 'DRONE_SERVER_TOKEN'],
    ['a bad timeout', { ...droneEnv, DDA_CI_REQUEST_TIMEOUT: 'soon' }, 'DDA_CI_REQUEST_TIMEOUT'],
    ['a bad timeout and no server', { DDA_CI_REQUEST_TIMEOUT: '0' }, 'DDA_CI_REQUEST_TIMEOUT'],
    ['a problem of the selected server', { ...gocdEnv, GOCD_AGENT_IMAGE: ' ' }, 'GOCD_AGENT_IMAGE'],
  ])('%s → CONFIG_INVALID naming %s', (_w, env, variable) => {
    expectNamed(configError(() => selectCiServer(env)), variable);
  });

  it('a stray variable says which variable would configure its server', () => {
    expect(configError(() => selectCiServer({ GOCD_TOKEN: 'gocd-tok-7' })).message).toBe('GOCD_TOKEN: is set but GOCD_SERVER_URL is not: set GOCD_SERVER_URL or unset GOCD_TOKEN');
  });
});

describe('the registry', () => {
  it('each server owns its primary variable, and no variable belongs to two servers', () => {
    expect(new Set(CI_SERVERS.map((s) => s.kind)).size).toBe(CI_SERVERS.length);
    const owner = new Map<string, string>();
    for (const s of CI_SERVERS) {
      expect(s.variables).toContain(s.primaryVariable);
      for (const v of s.variables) {
        expect(owner.get(v), v).toBeUndefined();
        owner.set(v, s.kind);
      }
    }
  });

  it('names the variables that configure a server, for messages', () => {
    expect(primaryVariables()).toBe('DRONE_SERVER_HOST (or WOODPECKER_SERVER, or GOCD_SERVER_URL)');
  });
});

/**
 * A fourth server is one folder (here test/sources/stub-server/, laid out as
 * src/sources/<server>/ would be) plus one entry in the registry's list. Nothing else changes:
 * selection, stray-variable checks, agent specs and the source all come through the adapter.
 */
describe('adding a fourth CI server', () => {
  const servers = [...CI_SERVERS, stub];
  const stubEnv = { STUB_SERVER_URL: 'https://stub.example.com/', STUB_TOKEN: 'stub-tok-1', STUB_AGENT_TOKEN_REF: '/ci/stub/agent-token' };
  let fake: FakeHttpServer | undefined;
  afterEach(async () => fake?.close());

  it('is selected by its primary variable, with its own settings and a hidden token', () => {
    const ci = selectCiServer(stubEnv, servers)!;
    expect(ci.server).toBe(stub);
    expect(ci.settings).toEqual({
      kind: 'stub',
      serverUrl: 'https://stub.example.com',
      agentTokenRef: '/ci/stub/agent-token',
      agentImage: 'example/stub-agent:1',
      agentStopTimeoutSeconds: 30,
      mountDockerSocket: false,
      requestTimeoutMs: 10_000,
    });
    expect(JSON.stringify(ci.settings)).not.toContain('stub-tok-1');
    expect(selectCiServer(droneEnv, servers)!.server.kind).toBe('drone');
  });

  it('takes part in the generic checks: one server at most, stray variables named, its own problems named', () => {
    expectNamed(configError(() => selectCiServer({ ...droneEnv, ...stubEnv }, servers)), 'DRONE_SERVER_HOST, STUB_SERVER_URL');
    expectNamed(configError(() => selectCiServer({ ...droneEnv, STUB_TOKEN: 'x' }, servers)), 'STUB_TOKEN');
    expectNamed(configError(() => selectCiServer({ ...stubEnv, STUB_AGENT_TOKEN_REF: 'the-token-itself' }, servers)), 'STUB_AGENT_TOKEN_REF');
    expect(selectCiServer({ STUB_TOKEN: 'x' })).toBeUndefined(); // unknown to the real registry
    expect(primaryVariables(servers)).toBe('DRONE_SERVER_HOST (or WOODPECKER_SERVER, or GOCD_SERVER_URL, or STUB_SERVER_URL)');
  });

  it('gives its agent spec per pool, and refuses a pool it cannot express, naming it', () => {
    const { server, settings } = selectCiServer(stubEnv, servers)!;
    const pool = poolSchema.parse({ name: 'big', concurrency: 4, demand: { labels: { size: 'xl', disk: 'ssd' } } });
    expect(server.agentSpec(settings, pool)).toEqual({
      image: 'example/stub-agent:1',
      env: { STUB_URL: 'https://stub.example.com', STUB_CAPACITY: '4', STUB_LABELS: 'disk=ssd,size=xl' },
      secretRefs: { STUB_AGENT_TOKEN: '/ci/stub/agent-token' },
      nameVariable: 'STUB_AGENT_NAME',
      stopTimeoutSeconds: 30,
      mountDockerSocket: false,
    });
    expect(() => server.agentSpec(settings, poolSchema.parse({ name: 'arm', demand: { arch: 'arm64' } }))).toThrow(/^pools\.arm: /);
  });

  it('builds a source that polls its server', async () => {
    fake = await new FakeHttpServer().on('GET', '/api/jobs', () => ({ status: 200, body: JSON.stringify([{ id: 'j1', running: true, agent: 'i-1', labels: { size: 'xl' } }]) })).start();
    const { server, settings } = selectCiServer({ ...stubEnv, STUB_SERVER_URL: fake.url }, servers)!;
    const dispatcher = new Agent();
    const source = server.createSource(settings, { clock: systemClock, logger: memoryLogger().logger, dispatcher });
    expect((await source.poll()).stages).toMatchObject([{ id: 'j1', status: 'running', agent: 'i-1', demand: { labels: { size: 'xl' } } }]);
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer stub-tok-1');
    await dispatcher.close();
  });
});
