import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DdaError } from '../domain/errors.js';
import type { FleetView } from './fleet-view.js';

/**
 * The operator's window: `/status` (JSON: mode, queue, instances with reasons, recent
 * decisions), `/metrics` (Prometheus), `/healthz`. Read-only; binds to loopback unless told.
 */
export async function startStatusServer(view: FleetView, listen: string): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]+):)?(\d{1,5})$/.exec(listen);
  if (!m) throw new DdaError('CONFIG_INVALID', `DDA_HTTP_LISTEN must be [host:]port, not "${listen}"`);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  const server = createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(view.status(), null, 2));
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(view.metrics());
    } else if (path === '/healthz') {
      const mode = view.status().mode;
      res.writeHead(mode === 'stopped' ? 503 : 200, { 'content-type': 'text/plain' }).end(`${mode}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /status, /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new DdaError('CONFIG_INVALID', `cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return { server, url, close: () => new Promise((r) => server.close(() => r())) };
}
