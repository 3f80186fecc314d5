import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AwsCloudProvider } from '../../../src/cloud/aws/index.js';
import { sdkEc2Api } from '../../../src/cloud/aws/ec2-api.js';
import { sdkEcsApi } from '../../../src/cloud/aws/ecs-api.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { CLUSTER, clients, createCluster, droneSpec, manualClock, motoProvider, registerAsEcsAgent, testAwsConfig } from './support.js';

/**
 * The ports follow every page. moto pages DescribeInstances itself (MaxResults counts
 * reservations) but answers ECS's List calls in one page whatever maxResults says; a loopback
 * proxy in front of it pages those (ECS is JSON: slice the list, hand out an offset as the
 * token) and records every request, so the test sees each page asked for.
 */
interface PagingProxy {
  endpoint: string;
  /** Operation name → the token each request carried (undefined on a first page). */
  requests: Map<string, (string | undefined)[]>;
  close(): Promise<void>;
}

const ECS_LISTS: Record<string, string> = { ListTasks: 'taskArns', ListContainerInstances: 'containerInstanceArns' };

async function bodyOf(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

async function startPagingProxy(upstream: string): Promise<PagingProxy> {
  const requests = new Map<string, (string | undefined)[]>();
  const record = (op: string, token: string | undefined) => requests.set(op, [...(requests.get(op) ?? []), token]);
  const server: Server = createServer((req, res) => {
    void (async () => {
      let body = await bodyOf(req);
      const target = req.headers['x-amz-target'];
      const op = typeof target === 'string' ? target.split('.').pop()! : (new URLSearchParams(body).get('Action') ?? '?');
      const listKey = ECS_LISTS[op];
      let page: { size: number; offset: number } | undefined;
      if (listKey) {
        const input = JSON.parse(body) as Record<string, unknown>;
        record(op, input.nextToken as string | undefined);
        page = { size: Number(input.maxResults ?? 100), offset: Number(input.nextToken ?? 0) };
        delete input.maxResults;
        delete input.nextToken;
        body = JSON.stringify(input);
      } else {
        record(op, new URLSearchParams(body).get('NextToken') ?? undefined);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      const up = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      let text = await up.text();
      if (listKey && page && up.ok) {
        const out = JSON.parse(text) as Record<string, unknown>;
        const all = (out[listKey] as string[] | undefined) ?? [];
        const end = page.offset + page.size;
        out[listKey] = all.slice(page.offset, end);
        if (end < all.length) out.nextToken = String(end);
        text = JSON.stringify(out);
      }
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(text);
    })().catch((e: unknown) => {
      res.writeHead(502).end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let moto: MotoRegion;
let proxy: PagingProxy;

beforeAll(async () => {
  proxy = await startPagingProxy(inject('moto').endpoint);
}, 30_000);

afterAll(async () => {
  await proxy?.close();
});

beforeEach(async () => {
  moto = leaseMotoRegion();
  await createCluster(clients(moto).ecs);
  proxy.requests.clear();
});

const FLEET = 5;

/** FLEET instances launched by the daemon, each registered with ECS and running its agent task. */
async function fleetOfFive(): Promise<string[]> {
  const { ecs } = clients(moto);
  const p = motoProvider(moto);
  const ids: string[] = [];
  for (let n = 0; n < FLEET; n++) {
    const { instanceId } = await p.launch({ key: `k${n}`, pool: 'default', demand: DEFAULT_DEMAND, concurrency: 2 });
    await registerAsEcsAgent(ecs, instanceId);
    await p.startAgent(instanceId, `agent-${n}`, 'default');
    ids.push(instanceId);
  }
  return ids;
}

describe('the AWS ports follow every page (SDK paginators)', () => {
  it('a fleet described two items a page equals the fleet described in one page', async () => {
    const ids = await fleetOfFive();
    const clock = manualClock();
    const whole = await motoProvider(moto, { clock }).describe();
    expect(whole.instances.map((i) => i.instanceId).sort()).toEqual([...ids].sort());

    const { ec2, ecs } = clients({ endpoint: proxy.endpoint, region: moto.region });
    const paged = new AwsCloudProvider({
      cfg: testAwsConfig({ endpoint: proxy.endpoint, region: moto.region }),
      ec2: sdkEc2Api(ec2, { pageSize: 2 }),
      ecs: sdkEcsApi(ecs, CLUSTER, { pageSize: 2 }),
      clock,
      logger: pino({ level: 'silent' }),
      daemonId: 'd1',
      agents: () => droneSpec(),
    });
    proxy.requests.clear();
    expect(await paged.describe()).toEqual(whole);

    // Five items two a page: three pages, the later two asked for with the token of the one before.
    expect(proxy.requests.get('DescribeInstances')).toHaveLength(3);
    expect(proxy.requests.get('DescribeInstances')![0]).toBeUndefined();
    expect(proxy.requests.get('DescribeInstances')!.slice(1).every((t) => typeof t === 'string' && t !== '')).toBe(true);
    expect(proxy.requests.get('ListContainerInstances')).toEqual([undefined, '2', '4']);
    // Running tasks (five: three pages) and stopped ones (none: one page).
    expect([...proxy.requests.get('ListTasks')!].sort()).toEqual(['2', '4', undefined, undefined].sort());
  });

  it('listTasks with a filter gathers every page; the abort signal of the caller reaches the paginated request', async () => {
    await fleetOfFive();
    const { ecs } = clients({ endpoint: proxy.endpoint, region: moto.region });
    const api = sdkEcsApi(ecs, CLUSTER, { pageSize: 2 });
    const all = await sdkEcsApi(clients(moto).ecs, CLUSTER).listTasks({ desiredStatus: 'RUNNING' });
    expect(all).toHaveLength(FLEET);
    proxy.requests.clear();
    expect(await api.listTasks({ desiredStatus: 'RUNNING' })).toEqual(all);
    expect(proxy.requests.get('ListTasks')).toEqual([undefined, '2', '4']);

    const ac = new AbortController();
    ac.abort();
    await expect(api.listTasks({}, ac.signal)).rejects.toThrow(/abort/i);
  });
});
