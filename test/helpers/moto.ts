import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * A moto_server of our own on a free loopback port. The integration project starts one for all
 * its files (moto-global-setup.ts); tests take a region of it with `leaseMotoRegion()`. If moto is missing the suite fails with
 * the fix in the message — silently skipping would make the AWS interpreter untested in CI.
 */
export interface Moto {
  endpoint: string;
  port: number;
  /** POST /moto-api/reset: forget every resource. */
  reset(): Promise<void>;
  /** ECS tasks stay where they are put (StartTask → RUNNING) instead of advancing per DescribeTasks. */
  manualEcsTasks(): Promise<void>;
  stop(): Promise<void>;
}

const MISSING = "moto_server is not installed or not on PATH; install it with: pip install 'moto[server]'";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function post(url: string, body?: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`moto: POST ${new URL(url).pathname} answered ${res.status}`);
}

export async function startMoto(opts: { timeoutMs?: number; command?: string } = {}): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // detached: its own process group, so stop() also ends what a pyenv shim or wrapper spawned.
  const child: ChildProcess = spawn(opts.command ?? 'moto_server', ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2000);
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      exited = e.code === 'ENOENT' ? MISSING : `moto_server failed to start: ${e.message}`;
      resolve();
    });
    child.once('exit', (code, sig) => {
      exited ??= `moto_server exited (${sig ?? code}) before answering: ${MISSING}\n${stderr.trim().split('\n').slice(-5).join('\n')}`;
      resolve();
    });
  });

  const kill = async () => {
    if (child.pid === undefined || exited !== undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 3000);
    await exit;
    clearTimeout(t);
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (exited !== undefined) throw new Error(exited);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`moto_server did not answer on ${endpoint} within ${opts.timeoutMs ?? 20_000} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    endpoint,
    port,
    reset: () => post(`${endpoint}/moto-api/reset`),
    manualEcsTasks: () => post(`${endpoint}/moto-api/state-manager/set-transition`, { model_name: 'ecs::task', transition: { progression: 'manual', times: 1_000_000 } }),
    stop: kill,
  };
}

/** What the integration project's global setup hands to its tests (see moto-global-setup.ts). */
export interface SharedMotoInfo {
  /** Empty when moto could not start; `error` then says why, with the install hint. */
  endpoint: string;
  error: string;
  /** A directory where a region is taken by creating its folder (atomic across workers). */
  leases: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    moto: SharedMotoInfo;
  }
}

/** Where a test talks to the shared moto: the endpoint and a region no other test uses. */
export interface MotoRegion {
  endpoint: string;
  region: string;
}

/**
 * Regions moto serves (EC2 and ECS), each a separate world. A test that leases one starts from
 * an empty account, as `POST /moto-api/reset` gave it before, without wiping another file's
 * state mid-test. There are more than the suite's moto tests; add one here if they run out.
 */
export const MOTO_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1', 'sa-east-1', 'mx-central-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2',
  'af-south-1', 'me-south-1', 'me-central-1', 'il-central-1',
  'ap-south-1', 'ap-south-2', 'ap-east-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7', 'ap-east-2',
  // Other partitions: moto serves them alike, and nothing here reads the partition of an ARN.
  'us-gov-west-1', 'us-gov-east-1', 'cn-north-1', 'cn-northwest-1',
] as const;

/**
 * A fresh region of the integration project's one moto_server, for one test (call it in
 * `beforeEach`). Fails with the install hint when moto_server is missing.
 */
export function leaseMotoRegion(): MotoRegion {
  const info = inject('moto');
  if (!info) throw new Error('no shared moto_server: this test must run in the integration project (vitest --project integration)');
  if (info.error) throw new Error(info.error);
  for (const region of MOTO_REGIONS) {
    try {
      mkdirSync(join(info.leases, region));
      return { endpoint: info.endpoint, region };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`all ${MOTO_REGIONS.length} moto regions are leased: add regions to MOTO_REGIONS in test/helpers/moto.ts`);
}
