import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { createWoodpeckerSource, taskDemand } from '../../src/sources/woodpecker/woodpecker-source.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import { closedPort } from './fake-http.js';
import { FakeWoodpecker } from './fake-woodpecker.js';
import { everythingIn, memoryLogger, rejection } from './helpers.js';

const TOKEN = 'wp-pat-8d1e77c3b2';
const SERVER_LABELS = { repo: 'acme/widgets', 'org-id': '3', 'repo-id': '12', 'woodpecker-ci.org/branch': 'main' };

describe.each(['pre-3.10', '3.10'] as const)('woodpecker source (%s)', (shape) => {
  let wp: FakeWoodpecker;
  let dispatcher: Agent;
  let now: number;
  let source: QueueSource;
  let mem: ReturnType<typeof memoryLogger>;
  const clock: Clock = { ...systemClock, now: () => now };
  const make = (opts: { server?: string; token?: string; timeoutMs?: number } = {}) =>
    createWoodpeckerSource({ server: opts.server ?? wp.url, token: opts.token ?? TOKEN, timeoutMs: opts.timeoutMs ?? 2000, clock, logger: mem.logger, dispatcher });

  beforeEach(async () => {
    wp = await FakeWoodpecker.start(TOKEN, shape);
    dispatcher = new Agent();
    now = 1_000_000;
    mem = memoryLogger();
    source = make();
  });
  afterEach(async () => {
    await wp.close();
    await dispatcher.close();
  });

  it('an empty queue is an empty snapshot', async () => {
    const snap = await source.poll();
    expect(snap).toEqual({ at: 1_000_000, stages: [] });
  });

  it('maps pending and running tasks, skips waiting_on_deps, names the agent', async () => {
    wp.agents = [{ id: 5, name: 'i-0aaa', no_schedule: false }];
    wp.pending = [{ id: '101', labels: { ...SERVER_LABELS, platform: 'linux/arm64' }, agent_id: 0 }];
    wp.waiting = [{ id: '102', labels: SERVER_LABELS, agent_id: 0 }];
    wp.running = [{ id: '103', labels: { ...SERVER_LABELS, gpu: 'true', backend: 'docker' }, agent_id: 5 }];

    const snap = await source.poll();
    expect(snap.stages).toEqual([
      { id: '101', status: 'pending', demand: { os: 'linux', arch: 'arm64', variant: '', kernel: '', labels: {} }, createdAt: 1_000_000 },
      { id: '103', status: 'running', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: { gpu: 'true' } }, agent: 'i-0aaa', createdAt: 1_000_000, startedAt: 1_000_000 },
    ]);
    // Only the older shape lacks agent_name and needs the agent list.
    expect(wp.requests.some((r) => r.path.startsWith('/api/agents'))).toBe(shape === 'pre-3.10');
  });

  it('keeps createdAt at first sight and startedAt at the first running sight', async () => {
    wp.agents = [{ id: 5, name: 'i-0aaa', no_schedule: false }];
    wp.pending = [{ id: '1', labels: {}, agent_id: 0 }];
    await source.poll();
    now = 2_000_000;
    wp.pending = [];
    wp.running = [{ id: '1', labels: {}, agent_id: 5 }];
    const [s] = (await source.poll()).stages;
    expect(s).toMatchObject({ id: '1', status: 'running', createdAt: 1_000_000, startedAt: 2_000_000, agent: 'i-0aaa' });
  });

  it('probe: admin token passes; wrong token, non-admin and missing token fail with what to fix', async () => {
    await source.probe();
    const bad = await rejection(make({ token: 'nope' }).probe());
    expect(bad.code).toBe('SOURCE_UNAUTHORIZED');
    expect(bad.message).toContain('WOODPECKER_TOKEN');
    expect((await rejection(make({ token: '' }).probe())).code).toBe('SOURCE_UNAUTHORIZED');
    wp.admin = false;
    const forbidden = await rejection(source.probe());
    expect(forbidden.code).toBe('SOURCE_FORBIDDEN');
    expect(forbidden.message).toContain('WOODPECKER_TOKEN');
  });

  it.each([
    ['a missing running list', { pending: [] }],
    ['a numeric task id', { pending: [{ id: 1, labels: {}, agent_id: 0 }], running: [] }],
    ['labels as a list', { pending: [{ id: '1', labels: ['a'], agent_id: 0 }], running: [] }],
  ])('poll: %s is SOURCE_MALFORMED', async (_w, body) => {
    wp.fault('/api/queue/info', { kind: 'body', body: JSON.stringify(body) });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
  });

  it('poll: truncated JSON, 500, 503, slow and refused all fail, never an empty queue', async () => {
    wp.fault('/api/queue/info', { kind: 'body', body: '{"pending": [' });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
    wp.fault('/api/queue/info', { kind: 'status', status: 500 });
    expect((await rejection(source.poll())).code).toBe('SOURCE_HTTP');
    wp.fault('/api/queue/info', { kind: 'status', status: 503 });
    expect((await rejection(source.poll())).details['status']).toBe(503);
    wp.fault('/api/queue/info', { kind: 'slow', ms: 1500 });
    expect((await rejection(make({ timeoutMs: 200 }).poll())).code).toBe('SOURCE_TIMEOUT');
    expect((await rejection(make({ server: `http://127.0.0.1:${await closedPort()}` }).poll())).code).toBe('SOURCE_UNREACHABLE');
  });

  it('a failing agent lookup fails the poll (pre-3.10 needs it to know who is busy)', async () => {
    wp.agents = [{ id: 5, name: 'i-0aaa', no_schedule: false }];
    wp.running = [{ id: '1', labels: {}, agent_id: 5 }];
    wp.fault('/api/agents', { kind: 'status', status: 500 });
    if (shape === 'pre-3.10') expect((await rejection(source.poll())).code).toBe('SOURCE_HTTP');
    else expect((await source.poll()).stages[0]!.agent).toBe('i-0aaa');
  });

  it('drain sets no_schedule and keeps the name; forget deletes; both are idempotent', async () => {
    wp.agents = [
      { id: 4, name: 'static-agent', no_schedule: false },
      { id: 5, name: 'i-0aaa', no_schedule: false },
    ];
    expect(source.drainStyle).toBe('server');
    await source.drainAgent('i-0aaa');
    expect(wp.agents[1]).toEqual({ id: 5, name: 'i-0aaa', no_schedule: true });
    expect(wp.agents[0]!.no_schedule).toBe(false);
    const patches = wp.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.path, JSON.parse(r.body)])).toEqual([['/api/agents/5', { name: 'i-0aaa', no_schedule: true }]]);

    await source.drainAgent('i-0aaa');
    expect(wp.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);

    await source.forgetAgent('i-0aaa');
    expect(wp.agents.map((a) => a.name)).toEqual(['static-agent']);
    await source.forgetAgent('i-0aaa');
    await source.drainAgent('never-registered');
    expect(wp.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('forget refuses (409) while the agent still runs a task, as an error the caller can retry', async () => {
    wp.agents = [{ id: 5, name: 'i-0aaa', no_schedule: true }];
    wp.running = [{ id: '1', labels: {}, agent_id: 5 }];
    const e = await rejection(source.forgetAgent('i-0aaa'));
    expect(e.code).toBe('SOURCE_HTTP');
    expect(e.details['status']).toBe(409);
  });

  it('finds agents beyond the first page, and stops on servers without pagination', async () => {
    wp.agents = Array.from({ length: 230 }, (_, i) => ({ id: i + 1, name: `a-${i + 1}`, no_schedule: false }));
    await source.drainAgent('a-230');
    expect(wp.agents[229]!.no_schedule).toBe(true);
    expect(wp.requests.filter((r) => r.path.startsWith('/api/agents?')).length).toBe(3);

    wp.paginates = false;
    const before = wp.requests.length;
    await source.drainAgent('a-229');
    expect(wp.agents[228]!.no_schedule).toBe(true);
    expect(wp.requests.slice(before).filter((r) => r.path.startsWith('/api/agents?')).length).toBe(2);
  });

  it('the token appears in no error and no log line', async () => {
    wp.admin = false;
    const errors = [await rejection(source.probe()), await rejection(make({ token: 'x' }).poll())];
    wp.admin = true;
    wp.fault('/api/queue/info', { kind: 'status', status: 500, body: TOKEN });
    errors.push(await rejection(source.poll()));
    wp.fault('/api/queue/info', undefined);
    await source.probe();
    for (const e of errors) expect(everythingIn(e)).not.toContain(TOKEN);
    expect(mem.lines.join('\n')).not.toContain(TOKEN);
    expect(mem.lines.length).toBeGreaterThan(0);
  });
});

describe('woodpecker task labels → demand', () => {
  it('splits platform, drops routing and server labels, empty values and backend=docker', () => {
    expect(taskDemand({ platform: 'linux/arm64/v8', repo: 'a/b', 'org-id': '1', 'repo-id': '2', 'woodpecker-ci.org/x': 'y', empty: '', backend: 'docker', size: 'xl' })).toEqual({
      os: 'linux',
      arch: 'arm64',
      variant: 'v8',
      kernel: '',
      labels: { size: 'xl' },
    });
  });
  it('keeps a backend other than docker, so no docker pool claims it', () => {
    expect(taskDemand({ backend: 'kubernetes' }).labels).toEqual({ backend: 'kubernetes' });
  });
});
