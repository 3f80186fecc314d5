import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { createDroneSource } from '../../src/sources/drone/drone-source.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import { closedPort } from './fake-http.js';
import { FakeDrone } from './fake-drone.js';
import { everythingIn, memoryLogger, rejection } from './helpers.js';

const TOKEN = 'drone-admin-token-5f0c2a9e';
const fixedClock: Clock = { ...systemClock, now: () => 1_700_000_000_000 };

describe('drone source', () => {
  let drone: FakeDrone;
  let dispatcher: Agent;
  let mem: ReturnType<typeof memoryLogger>;
  let source: QueueSource;

  const make = (opts: { server?: string; token?: string; timeoutMs?: number } = {}): QueueSource =>
    createDroneSource({
      server: opts.server ?? drone.url,
      token: opts.token ?? TOKEN,
      timeoutMs: opts.timeoutMs ?? 2000,
      clock: fixedClock,
      logger: mem.logger,
      dispatcher,
    });

  beforeEach(async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    dispatcher = new Agent();
    mem = memoryLogger();
    source = make();
  });
  afterEach(async () => {
    await drone.close();
    await dispatcher.close();
  });

  it('maps pending and running stages, with platform defaults, labels, the runner name and the build', async () => {
    drone.addStage({ id: 11, created: 1_699_999_000, labels: { gpu: 'yes' } });
    drone.addStage({ id: 12, os: '', arch: '', created: 1_699_999_100 });
    drone.addStage({ id: 13, os: 'linux', arch: 'arm64', variant: 'v8', kernel: '6.1', created: 1_699_999_200 });
    drone.startStage(13, 'i-0abc', 1_699_999_300);
    drone.addStage({ id: 14, machine: 'i-0def', created: 1_699_999_400 }); // accepted, not yet running

    const snap = await source.poll();

    expect(snap.at).toBe(1_700_000_000_000);
    expect(snap.stages).toEqual([
      { id: '11', build: '11', status: 'pending', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: { gpu: 'yes' } }, createdAt: 1_699_999_000_000 },
      { id: '12', build: '12', status: 'pending', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} }, createdAt: 1_699_999_100_000 },
      { id: '13', build: '13', status: 'running', demand: { os: 'linux', arch: 'arm64', variant: 'v8', kernel: '6.1', labels: {} }, agent: 'i-0abc', createdAt: 1_699_999_200_000, startedAt: 1_699_999_300_000 },
      { id: '14', build: '14', status: 'pending', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} }, agent: 'i-0def', createdAt: 1_699_999_400_000 },
    ]);
    const req = drone.requests.at(-1)!;
    expect(req.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(req.path).toBe('/api/queue');
  });

  it('an empty queue is an empty snapshot, whether [] or null', async () => {
    expect((await source.poll()).stages).toEqual([]);
    drone.fault('/api/queue', { kind: 'body', body: 'null' });
    expect((await source.poll()).stages).toEqual([]);
  });

  it('follows stages as they appear, start and finish', async () => {
    const id = drone.addStage();
    expect((await source.poll()).stages.map((s) => s.status)).toEqual(['pending']);
    drone.startStage(id, 'i-1');
    expect((await source.poll()).stages.map((s) => [s.status, s.agent])).toEqual([['running', 'i-1']]);
    drone.finishStage(id);
    expect((await source.poll()).stages).toEqual([]);
  });

  it('probe passes for an admin token on a server with the queue endpoint', async () => {
    await expect(source.probe()).resolves.toBeUndefined();
    expect(drone.requests.map((r) => r.path)).toEqual(['/api/user', '/api/queue']);
  });

  it('probe: a wrong token is SOURCE_UNAUTHORIZED and names the variable', async () => {
    const e = await rejection(make({ token: 'wrong' }).probe());
    expect(e.code).toBe('SOURCE_UNAUTHORIZED');
    expect(e.message).toContain('DRONE_SERVER_TOKEN');
    expect(e.message).not.toContain('\n');
  });

  it('probe: a missing token fails before any request', async () => {
    const e = await rejection(make({ token: '' }).probe());
    expect(e.code).toBe('SOURCE_UNAUTHORIZED');
    expect(drone.requests).toHaveLength(0);
  });

  it('probe: a non-admin user is SOURCE_FORBIDDEN, from admin:false and from a 403 on the queue', async () => {
    drone.admin = false;
    const e = await rejection(source.probe());
    expect(e.code).toBe('SOURCE_FORBIDDEN');
    expect(e.message).toMatch(/not an admin/);

    drone.fault('/api/user', { kind: 'body', body: JSON.stringify({ id: 1, login: 'x', admin: true }) });
    const e403 = await rejection(source.probe());
    expect(e403.code).toBe('SOURCE_FORBIDDEN');
    expect(e403.details['status']).toBe(403);
  });

  it('probe: 501 on the queue (oss build) is SOURCE_UNSUPPORTED, and poll never reads it as empty', async () => {
    drone.oss = true;
    const e = await rejection(source.probe());
    expect(e.code).toBe('SOURCE_UNSUPPORTED');
    expect(e.message).toMatch(/oss/);
    expect((await rejection(source.poll())).code).toBe('SOURCE_UNSUPPORTED');
  });

  it.each([
    [500, 'SOURCE_HTTP'],
    [503, 'SOURCE_HTTP'],
    [401, 'SOURCE_UNAUTHORIZED'],
    [403, 'SOURCE_FORBIDDEN'],
  ] as const)('poll: HTTP %i is %s', async (status, code) => {
    drone.fault('/api/queue', { kind: 'status', status, body: '{"message":"boom"}' });
    const e = await rejection(source.poll());
    expect(e.code).toBe(code);
    expect(e.details['status']).toBe(status);
  });

  it('poll: truncated JSON is SOURCE_MALFORMED', async () => {
    drone.fault('/api/queue', { kind: 'body', body: '[{"id": 1, "status": "pend' });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
  });

  it('poll: a connection cut mid-body is SOURCE_UNREACHABLE', async () => {
    drone.fault('/api/queue', { kind: 'drop' });
    expect((await rejection(source.poll())).code).toBe('SOURCE_UNREACHABLE');
  });

  it.each([
    ['an object instead of a list', { stages: [] }],
    ['a string id', [{ id: '1', status: 'pending', os: 'linux', arch: 'amd64', created: 1 }]],
    ['labels with a number', [{ id: 1, status: 'pending', os: 'linux', arch: 'amd64', created: 1, labels: { a: 1 } }]],
    ['no created time', [{ id: 1, status: 'pending', os: 'linux', arch: 'amd64' }]],
  ])('poll: %s is SOURCE_MALFORMED naming the field', async (_what, body) => {
    drone.fault('/api/queue', { kind: 'body', body: JSON.stringify(body) });
    const e = await rejection(source.poll());
    expect(e.code).toBe('SOURCE_MALFORMED');
  });

  it('poll: a slow server is SOURCE_TIMEOUT after the per-request timeout', async () => {
    drone.fault('/api/queue', { kind: 'slow', ms: 2000 });
    const t0 = performance.now();
    const e = await rejection(make({ timeoutMs: 200 }).poll());
    expect(e.code).toBe('SOURCE_TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('poll: a closed port is SOURCE_UNREACHABLE', async () => {
    const port = await closedPort();
    const e = await rejection(make({ server: `http://127.0.0.1:${port}` }).poll());
    expect(e.code).toBe('SOURCE_UNREACHABLE');
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('poll honours the caller\'s AbortSignal', async () => {
    drone.fault('/api/queue', { kind: 'slow', ms: 2000 });
    const ac = new AbortController();
    const p = source.poll(ac.signal);
    setTimeout(() => ac.abort(new Error('stopping')), 50);
    await expect(p).rejects.toThrow('stopping');
  });

  it('drain and forget are no-ops that touch nothing (signal-style drain)', async () => {
    expect(source.drainStyle).toBe('signal');
    await source.drainAgent('i-1');
    await source.forgetAgent('i-1');
    expect(drone.requests).toHaveLength(0);
  });

  it('the token appears in no error and no log line, whatever fails', async () => {
    const errors = [];
    drone.admin = false;
    errors.push(await rejection(source.probe()));
    drone.admin = true;
    errors.push(await rejection(make({ token: 'wrong' }).probe()));
    for (const f of [{ kind: 'status', status: 500, body: TOKEN }, { kind: 'body', body: `[${TOKEN}` }, { kind: 'drop' }] as const) {
      drone.fault('/api/queue', f);
      errors.push(await rejection(source.poll()));
    }
    drone.fault('/api/queue', { kind: 'slow', ms: 1000 });
    errors.push(await rejection(make({ timeoutMs: 100 }).poll()));
    errors.push(await rejection(make({ server: `http://127.0.0.1:${await closedPort()}` }).poll()));
    drone.fault('/api/queue', undefined);
    await source.probe();
    await source.poll();

    expect(errors).toHaveLength(7);
    for (const e of errors) expect(everythingIn(e)).not.toContain(TOKEN);
    expect(mem.lines.length).toBeGreaterThan(0);
    expect(mem.lines.join('\n')).not.toContain(TOKEN);
  });
});
