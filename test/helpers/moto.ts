import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * A moto_server of our own on a free loopback port. If moto is missing the suite fails with
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
