import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { CloudProvider, LaunchRequest } from '../../../src/ports/cloud-provider.js';
import { startAwsProxy, type AwsProxy, type ProxyBehaviour } from '../../helpers/aws-proxy.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { captureLogger, clients, createCluster, manualClock, motoProvider } from './support.js';

/**
 * Warm spot against moto, through a recording proxy: the parking launch asks for a persistent
 * request that stops on interruption, and a terminate cancels the request first. moto accepts
 * the request but records none (no SpotInstanceRequestId, nothing listed, and a cancel of an
 * unknown id is an HTML 500), so the proxy plays EC2 for the request: it adds the id to the
 * instance's describe and answers the cancel itself.
 */

let moto: MotoRegion;
let ec2: EC2Client;
let proxy: AwsProxy | undefined;

beforeEach(async () => {
  moto = leaseMotoRegion();
  ({ ec2 } = clients(moto));
  const { ecs } = clients(moto);
  await createCluster(ecs);
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const WEEK = 7 * 86_400;
const parkReq = (key: string): LaunchRequest => ({ key, pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1, purpose: 'park', warmSpot: { validSeconds: WEEK } });
const SIR = 'sir-warm0001';
const CANCELLED = `<?xml version="1.0" encoding="UTF-8"?><CancelSpotInstanceRequestsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>proxy</requestId><spotInstanceRequestSet><item><spotInstanceRequestId>${SIR}</spotInstanceRequestId><state>cancelled</state></item></spotInstanceRequestSet></CancelSpotInstanceRequestsResponse>`;
/** EC2 as it would answer for a request moto did not record: the instance names its request, the cancel succeeds. */
const playSpotRequest = (action: string): ProxyBehaviour =>
  action === 'DescribeInstances' ? { edit: (xml) => xml.replaceAll('<instanceLifecycle>spot</instanceLifecycle>', `<instanceLifecycle>spot</instanceLifecycle><spotInstanceRequestId>${SIR}</spotInstanceRequestId>`) } : action === 'CancelSpotInstanceRequests' ? { xml: CANCELLED } : 'forward';

const params = (body: string) => Object.fromEntries(new URLSearchParams(body));

async function stateOf(id: string): Promise<string | undefined> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

function park(p: CloudProvider, id: string): Promise<void> {
  if (!p.park) throw new Error('the AWS provider parks');
  return p.park(id);
}

describe('warm spot against moto', () => {
  it('a parking launch asks for a persistent spot request that stops on interruption, valid for the maximum age, tagged for the cancel', async () => {
    proxy = await startAwsProxy(moto.endpoint, playSpotRequest);
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region }, { clock });
    const r = await p.launch(parkReq('warm-spot-1'));
    expect(r.market).toBe('spot');
    const run = params(proxy.requests.find((q) => q.action === 'RunInstances')!.body);
    expect(run).toMatchObject({
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'persistent',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'stop',
    });
    expect(Date.parse(run['InstanceMarketOptions.SpotOptions.ValidUntil']!)).toBe(Date.UTC(2025, 0, 8));
    const tags = Object.entries(run).filter(([k]) => /^TagSpecification\.1\.Tag\.\d+\.Key$/.test(k)).map(([k, v]) => [v, run[k.replace(/Key$/, 'Value')]]);
    expect(Object.fromEntries(tags)).toMatchObject({ 'dda:purpose': 'park', 'dda:market': 'spot', 'dda:spot-request': 'persistent' });
    // The request carries our tags too: IAM lets the daemon cancel only its own.
    expect(run['TagSpecification.3.ResourceType']).toBe('spot-instances-request');

    // A warm spot member parks (a one-time spot instance is refused).
    await park(p, r.instanceId);
    expect(await stateOf(r.instanceId)).toBe('stopped');
  });

  it('terminate cancels the spot request first (parked or not), or EC2 would relaunch it', async () => {
    proxy = await startAwsProxy(moto.endpoint, playSpotRequest);
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region });
    const parked = await p.launch(parkReq('warm-spot-2'));
    await park(p, parked.instanceId);
    const running = await p.launch(parkReq('warm-spot-3'));
    for (const id of [parked.instanceId, running.instanceId]) {
      const from = proxy.requests.length;
      await p.terminate(id);
      const calls = proxy.requests.slice(from);
      const order = calls.map((q) => q.action).filter((a) => a === 'CancelSpotInstanceRequests' || a === 'TerminateInstances');
      expect(order).toEqual(['CancelSpotInstanceRequests', 'TerminateInstances']);
      expect(params(calls.find((q) => q.action === 'CancelSpotInstanceRequests')!.body)).toMatchObject({ 'SpotInstanceRequestId.1': SIR });
      expect(await stateOf(id)).toBe('terminated');
    }
  });

  it('a request no longer found (moto records none): logged, and the instance terminated all the same', async () => {
    proxy = await startAwsProxy(moto.endpoint);
    const { logger, lines } = captureLogger();
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region }, { logger });
    const r = await p.launch(parkReq('warm-spot-4'));
    await p.terminate(r.instanceId);
    expect(proxy.actions).toContain('DescribeSpotInstanceRequests');
    expect(proxy.actions).not.toContain('CancelSpotInstanceRequests');
    expect(await stateOf(r.instanceId)).toBe('terminated');
    expect(lines.join('\n')).toContain('no spot request to cancel');
  });

  it('work launches and on-demand warm members are not touched: no cancel, no persistent request', async () => {
    proxy = await startAwsProxy(moto.endpoint, playSpotRequest);
    const p = motoProvider({ endpoint: proxy.endpoint, region: moto.region }, { cfg: { market: 'spot' } });
    const work = await p.launch({ key: 'work-1', pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });
    const warm = await p.launch({ ...parkReq('warm-od-1'), warmSpot: undefined } as LaunchRequest);
    expect(work.market).toBe('spot');
    expect(warm.market).toBe('on-demand');
    const runs = proxy.requests.filter((q) => q.action === 'RunInstances').map((q) => params(q.body));
    expect(runs[0]).toMatchObject({ 'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'one-time', 'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'terminate' });
    expect(runs[1]!['InstanceMarketOptions.MarketType']).toBeUndefined();
    expect(runs.map((r) => r['TagSpecification.3.ResourceType'])).toEqual([undefined, undefined]);
    await p.terminate(work.instanceId);
    await p.terminate(warm.instanceId);
    expect(proxy.actions).not.toContain('CancelSpotInstanceRequests');
    // A one-time spot instance cannot be parked.
    const again = await p.launch({ key: 'work-2', pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });
    await expect(park(p, again.instanceId)).rejects.toThrow(/one-time spot instance/);
  });
});
