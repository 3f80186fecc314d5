import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { createGocdSource, parseScheduledJobs } from '../../src/sources/gocd/gocd-source.js';
import type { HttpAuth } from '../../src/sources/http/request.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import { closedPort } from './fake-http.js';
import { FakeGocd } from './fake-gocd.js';
import { everythingIn, memoryLogger, rejection } from './helpers.js';

const TOKEN = 'gocd-token-0f9e8d7c';
const FEED = '/go/api/feed/jobs/scheduled.xml';

describe('gocd source', () => {
  let gocd: FakeGocd;
  let dispatcher: Agent;
  let now: number;
  let mem: ReturnType<typeof memoryLogger>;
  let source: QueueSource;
  const clock: Clock = { ...systemClock, now: () => now };
  const make = (opts: { server?: string; auth?: HttpAuth; timeoutMs?: number } = {}) =>
    createGocdSource({ server: opts.server ?? gocd.url, auth: opts.auth ?? { kind: 'bearer', token: TOKEN }, timeoutMs: opts.timeoutMs ?? 2000, clock, logger: mem.logger, dispatcher });

  beforeEach(async () => {
    gocd = await FakeGocd.start({ token: TOKEN });
    dispatcher = new Agent();
    now = 5_000;
    mem = memoryLogger();
    source = make();
  });
  afterEach(async () => {
    await gocd.close();
    await dispatcher.close();
  });

  it('scheduled jobs are pending stages; Building agents are running stages', async () => {
    gocd.jobs = [
      { name: 'build', buildLocator: 'app/12/build/1/build', resources: ['docker', 'large'], environment: 'ci' },
      { name: 'lint', buildLocator: 'app/12/build/1/lint' },
    ];
    gocd.agents = [
      { uuid: 'u-1', hostname: 'i-0aaa', agent_config_state: 'Enabled', agent_state: 'Building', resources: ['docker', 'large'], environments: ['ci'] },
      { uuid: 'u-2', hostname: 'i-0bbb', agent_config_state: 'Enabled', agent_state: 'Idle', resources: [], environments: [] },
    ];
    const snap = await source.poll();
    expect(snap.at).toBe(5_000);
    const big = { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: { docker: 'true', large: 'true', environment: 'ci' } };
    expect(snap.stages).toEqual([
      { id: 'app/12/build/1/build', status: 'pending', demand: big, createdAt: 5_000 },
      { id: 'app/12/build/1/lint', status: 'pending', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} }, createdAt: 5_000 },
      { id: 'agent:u-1', status: 'running', demand: big, agent: 'i-0aaa', createdAt: 5_000, startedAt: 5_000 },
    ]);
    expect(gocd.requests.find((r) => r.path === '/go/api/agents')!.headers['accept']).toBe('application/vnd.go.cd.v7+json');
  });

  it('createdAt is the first poll that saw the job', async () => {
    gocd.jobs = [{ name: 'a', buildLocator: 'p/1/s/1/a' }];
    await source.poll();
    now = 9_000;
    gocd.jobs.push({ name: 'b', buildLocator: 'p/1/s/1/b' });
    expect((await source.poll()).stages.map((s) => [s.id, s.createdAt])).toEqual([
      ['p/1/s/1/a', 5_000],
      ['p/1/s/1/b', 9_000],
    ]);
  });

  it('an empty feed and no agents are an empty snapshot', async () => {
    expect((await source.poll()).stages).toEqual([]);
    gocd.fault(FEED, { kind: 'body', body: '<?xml version="1.0" encoding="UTF-8"?>\n<scheduledJobs/>', contentType: 'application/xml' });
    expect((await source.poll()).stages).toEqual([]);
  });

  it('falls back to the older feed path on 404, and remembers it', async () => {
    gocd.legacyFeedOnly = true;
    gocd.jobs = [{ name: 'a', buildLocator: 'p/1/s/1/a' }];
    expect((await source.poll()).stages.map((s) => s.id)).toEqual(['p/1/s/1/a']);
    await source.poll();
    const feedCalls = gocd.requests.filter((r) => r.path.endsWith('scheduled.xml')).map((r) => r.path);
    expect(feedCalls).toEqual([FEED, '/go/api/jobs/scheduled.xml', '/go/api/jobs/scheduled.xml']);
  });

  it('both feed paths missing is SOURCE_UNSUPPORTED', async () => {
    gocd.legacyFeedOnly = true;
    gocd.fault('/go/api/jobs/scheduled.xml', { kind: 'status', status: 404 });
    expect((await rejection(source.poll())).code).toBe('SOURCE_UNSUPPORTED');
  });

  it('basic auth works too', async () => {
    await gocd.close();
    gocd = await FakeGocd.start({ user: 'admin', password: 'pw-1234' });
    await make({ auth: { kind: 'basic', user: 'admin', password: 'pw-1234' } }).probe();
    const e = await rejection(make({ auth: { kind: 'basic', user: 'admin', password: 'bad' } }).probe());
    expect(e.code).toBe('SOURCE_UNAUTHORIZED');
    expect(everythingIn(e)).not.toContain('pw-1234');
  });

  it('probe says what to fix: credentials, a URL without /go', async () => {
    await source.probe();
    const e = await rejection(make({ auth: { kind: 'bearer', token: 'nope' } }).probe());
    expect(e.code).toBe('SOURCE_UNAUTHORIZED');
    expect(e.message).toContain('GOCD_TOKEN');
    const noGo = await rejection(make({ server: gocd.url.replace(/\/go$/, '') }).probe());
    expect(noGo.code).toBe('SOURCE_UNSUPPORTED');
    expect(noGo.message).toContain('/go');
  });

  it.each([
    ['truncated XML', '<?xml version="1.0"?><scheduledJobs><job name="a"><buildLocator>p/1/s/1/a</buildLoc'],
    ['the wrong root', '<?xml version="1.0"?><pipelines/>'],
    ['a job without buildLocator', '<scheduledJobs><job name="a"><environment>x</environment></job></scheduledJobs>'],
    ['HTML', '<html><body>Login</body>'],
  ])('poll: %s is SOURCE_MALFORMED', async (_w, body) => {
    gocd.fault(FEED, { kind: 'body', body, contentType: 'application/xml' });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
  });

  it('poll: malformed agents JSON, 5xx, slow, refused all fail', async () => {
    gocd.fault('/go/api/agents', { kind: 'body', body: JSON.stringify({ _embedded: { agents: [{ uuid: 1 }] } }) });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
    gocd.fault('/go/api/agents', { kind: 'body', body: '{"_embedded": {"agents": [' });
    expect((await rejection(source.poll())).code).toBe('SOURCE_MALFORMED');
    gocd.fault('/go/api/agents', { kind: 'status', status: 503 });
    expect((await rejection(source.poll())).code).toBe('SOURCE_HTTP');
    gocd.fault('/go/api/agents', undefined);
    gocd.fault(FEED, { kind: 'slow', ms: 1500 });
    expect((await rejection(make({ timeoutMs: 200 }).poll())).code).toBe('SOURCE_TIMEOUT');
    expect((await rejection(make({ server: `http://127.0.0.1:${await closedPort()}/go` }).poll())).code).toBe('SOURCE_UNREACHABLE');
  });

  it('drain disables the agent; forget disables if needed, then deletes; both idempotent', async () => {
    gocd.agents = [
      { uuid: 'u-1', hostname: 'i-0aaa', agent_config_state: 'Enabled', agent_state: 'Idle', resources: [], environments: [] },
      { uuid: 'u-2', hostname: 'i-0bbb', agent_config_state: 'Enabled', agent_state: 'Idle', resources: [], environments: [] },
    ];
    expect(source.drainStyle).toBe('server');
    await source.drainAgent('i-0aaa');
    expect(gocd.agents[0]!.agent_config_state).toBe('Disabled');
    const patch = gocd.requests.find((r) => r.method === 'PATCH')!;
    expect([patch.path, JSON.parse(patch.body), patch.headers['accept']]).toEqual(['/go/api/agents/u-1', { agent_config_state: 'Disabled' }, 'application/vnd.go.cd.v7+json']);
    await source.drainAgent('i-0aaa');
    expect(gocd.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);

    await source.forgetAgent('i-0bbb'); // never drained: disable, then delete
    await source.forgetAgent('i-0aaa');
    expect(gocd.agents).toEqual([]);
    await source.forgetAgent('i-0aaa');
    await source.drainAgent('i-gone');
    expect(gocd.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);
  });

  it('the token appears in no error and no log line', async () => {
    const errors = [await rejection(make({ auth: { kind: 'bearer', token: 'x' } }).probe())];
    gocd.fault('/go/api/agents', { kind: 'status', status: 500, body: TOKEN });
    errors.push(await rejection(source.poll()));
    gocd.fault('/go/api/agents', undefined);
    gocd.legacyFeedOnly = true;
    await source.probe();
    for (const e of errors) expect(everythingIn(e)).not.toContain(TOKEN);
    expect(mem.lines.length).toBeGreaterThan(0);
    expect(mem.lines.join('\n')).not.toContain(TOKEN);
  });
});

describe('gocd scheduled-jobs parsing', () => {
  it('reads one job, a single resource, CDATA and numeric-looking names as strings', () => {
    const xml = '<scheduledJobs><job name="j"><buildLocator>p/1/s/1/j</buildLocator><resources><resource><![CDATA[64]]></resource></resources></job></scheduledJobs>';
    expect(parseScheduledJobs(xml, '/x')).toEqual([{ id: 'p/1/s/1/j', status: 'pending', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: { '64': 'true' } }, createdAt: 0 }]);
  });
});
