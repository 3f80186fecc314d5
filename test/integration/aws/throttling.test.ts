import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyAwsError, watchThrottling } from '../../../src/cloud/aws/errors.js';

/**
 * A loopback EC2 endpoint that throttles: moto never does. Each request gets the next answer of
 * the script ('throttle' = 503 RequestLimitExceeded, 'hang' = never answers); the last repeats.
 */
const THROTTLED_XML = '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>';

let server: Server | undefined;
const hanging: ServerResponse[] = [];

afterEach(async () => {
  for (const res of hanging.splice(0)) res.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function ec2Endpoint(script: ('throttle' | 'hang')[], onAnswer: () => void = () => {}): Promise<{ endpoint: string; requests: () => number }> {
  let n = 0;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const step = script[Math.min(n, script.length - 1)];
      n++;
      if (step === 'hang') return void hanging.push(res);
      res.writeHead(503, { 'content-type': 'text/xml' }).end(THROTTLED_XML);
      onAnswer();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { endpoint: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests: () => n };
}

function client(endpoint: string, maxAttempts: number, watched: boolean): EC2Client {
  const c = new EC2Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    retryMode: 'adaptive',
    maxAttempts,
    requestHandler: new NodeHttpHandler({ requestTimeout: 300, throwOnRequestTimeout: true }),
  });
  if (watched) watchThrottling(c);
  return c;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );

describe('throttling through the real SDK', () => {
  it('the SDK giving up on throttling is CLOUD_THROTTLED', async () => {
    const at = await ec2Endpoint(['throttle']);
    const e = await failure(client(at.endpoint, 2, true).send(new DescribeInstancesCommand({})));
    expect(at.requests()).toBe(2);
    expect(classifyAwsError(e)).toBe('CLOUD_THROTTLED');
  });

  it('a request timeout after a throttled attempt is CLOUD_THROTTLED (without the watch it read as unavailable)', async () => {
    for (const watched of [true, false]) {
      const at = await ec2Endpoint(['throttle', 'hang']);
      const e = await failure(client(at.endpoint, 2, watched).send(new DescribeInstancesCommand({})));
      expect((e as Error).name).toBe('TimeoutError');
      expect(classifyAwsError(e)).toBe(watched ? 'CLOUD_THROTTLED' : 'CLOUD_UNAVAILABLE');
      for (const res of hanging.splice(0)) res.destroy();
      await new Promise<void>((r) => server!.close(() => r()));
      server = undefined;
    }
  });

  it("the caller's deadline cutting the SDK's throttling backoff short is CLOUD_THROTTLED", async () => {
    const ac = new AbortController();
    const at = await ec2Endpoint(['throttle'], () => setTimeout(() => ac.abort(), 5));
    const e = await failure(client(at.endpoint, 5, true).send(new DescribeInstancesCommand({}), { abortSignal: ac.signal }));
    expect((e as Error).name).toBe('AbortError');
    expect(classifyAwsError(e)).toBe('CLOUD_THROTTLED');
  });

  it('an abort or a timeout with no throttling before stays CLOUD_UNAVAILABLE', async () => {
    const at = await ec2Endpoint(['hang']);
    const e = await failure(client(at.endpoint, 1, true).send(new DescribeInstancesCommand({})));
    expect((e as Error).name).toBe('TimeoutError');
    expect(classifyAwsError(e)).toBe('CLOUD_UNAVAILABLE');
  });
});
