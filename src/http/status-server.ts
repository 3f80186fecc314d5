import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { invalid } from '../config/env.js';
import { DdaError } from '../domain/errors.js';
import type { FleetView } from './fleet-view.js';
import { statusPage } from './status-page.js';

/**
 * The operator's window, read-only:
 * - `/` the status page (one self-contained HTML page, live over server-sent events);
 * - `/api/status` (alias `/status`) the same as JSON; `/api/events` its live feed;
 * - `/metrics` Prometheus; `/healthz` liveness; `/readyz` readiness (the queue and the fleet seen).
 *
 * It binds to loopback unless told. Beyond loopback it needs a token, and with a token every
 * route but `/healthz` and `/readyz` asks for it: `Authorization: Bearer <token>`, or the
 * cookie a browser gets by opening `/?token=<token>` once (a browser cannot put a header on a
 * page it opens, nor on an EventSource).
 */
export interface StatusServerOptions {
  /** Required when listening beyond loopback; when set, required on every route but the probes. */
  token?: string | undefined;
  /** How often the live feed looks for a change (ms). */
  checkMs?: number;
  /** The live feed sends the status at least this often, changed or not (ms). */
  heartbeatMs?: number;
}

export interface StatusServer {
  server: Server;
  url: string;
  /** Clients of the live feed now. */
  listeners(): number;
  close(): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
  loopback: boolean;
}

/** `[host:]port` → where to listen; the host defaults to 127.0.0.1. */
export function parseListen(listen: string): ListenAddress {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]+):)?(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new DdaError('CONFIG_INVALID', `DDA_HTTP_LISTEN must be [host:]port with a port up to 65535, not "${listen}"`, { variable: 'DDA_HTTP_LISTEN' });
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  return { host, port, loopback: /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host.toLowerCase() === 'localhost' };
}

/** Refuse, before anything starts, to serve the fleet beyond loopback without a token. */
export function checkListen(listen: string, token: string | undefined): ListenAddress {
  const at = parseListen(listen);
  if (!at.loopback && !token) throw invalid('DDA_HTTP_TOKEN', `required when DDA_HTTP_LISTEN listens beyond loopback (${at.host}): set DDA_HTTP_TOKEN or DDA_HTTP_TOKEN_FILE`);
  return at;
}

const COOKIE = 'dda_token';
const PROTECTED = new Set(['/', '/index.html', '/status', '/api/status', '/api/events', '/metrics']);

export async function startStatusServer(view: FleetView, listen: string, o: StatusServerOptions = {}): Promise<StatusServer> {
  const { host, port } = checkListen(listen, o.token);
  const page = statusPage();
  const feed = new LiveFeed(view, o.checkMs ?? 1000, o.heartbeatMs ?? 15_000);

  const server = createServer((req, res) => {
    void route(req, res).catch((e: unknown) => {
      // A failure renders no stack and no message: the page holds nothing secret, but an error might.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error (${e instanceof DdaError ? e.code : 'unexpected'})\n`);
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const path = url.pathname;
    if (o.token !== undefined && PROTECTED.has(path)) {
      const offered = url.searchParams.get('token');
      if (path === '/' && offered !== null) {
        // Trade the token in the address for a cookie, and drop it from the address bar.
        if (!sameToken(offered, o.token)) return unauthorized(res);
        res.writeHead(303, { location: '/', 'set-cookie': `${COOKIE}=${encodeURIComponent(offered)}; HttpOnly; SameSite=Strict; Path=/`, 'cache-control': 'no-store' }).end();
        return;
      }
      if (!authorized(req, o.token)) return unauthorized(res);
    }
    switch (path) {
      case '/':
      case '/index.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': page.csp, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }).end(page.html);
        return;
      case '/status':
      case '/api/status':
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(view.status(), null, 2));
        return;
      case '/api/events':
        if (req.method === 'HEAD') res.writeHead(200, { 'content-type': 'text/event-stream' }).end();
        else feed.add(req, res);
        return;
      case '/metrics': {
        const m = await view.metrics();
        res.writeHead(200, { 'content-type': m.contentType }).end(m.body);
        return;
      }
      case '/healthz': {
        const mode = view.status().mode;
        res.writeHead(mode === 'stopped' ? 503 : 200, { 'content-type': 'text/plain' }).end(`${mode}\n`);
        return;
      }
      case '/readyz': {
        const r = view.ready();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(r.ready ? 'ready\n' : `not ready: ${r.why}\n`);
        return;
      }
      case '/favicon.ico':
        // Browsers ask for it on every page, the 401 one too: no icon, and no error in their console.
        res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('try /, /api/status, /api/events, /metrics, /healthz or /readyz\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(invalid('DDA_HTTP_LISTEN', `cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    server,
    url,
    listeners: () => feed.size,
    close: () =>
      new Promise<void>((resolve) => {
        feed.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Compared in constant time: hashing first makes the lengths equal, so not even the length leaks. */
function sameToken(offered: string, token: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(offered), h(token));
}

function authorized(req: IncomingMessage, token: string): boolean {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return sameToken(bearer, token);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) {
      try {
        return sameToken(decodeURIComponent(value.join('=')), token);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function unauthorized(res: ServerResponse): void {
  res
    .writeHead(401, { 'www-authenticate': 'Bearer realm="drone-dynamic-agents"', 'content-type': 'text/plain', 'cache-control': 'no-store' })
    .end('unauthorized: send Authorization: Bearer <DDA_HTTP_TOKEN>, or open /?token=<DDA_HTTP_TOKEN> once in a browser\n');
}

/**
 * The status as server-sent events: sent when a client connects, then whenever it changes
 * (looked at every `checkMs` while anyone listens) and at least every `heartbeatMs`. These are
 * real-time timers on purpose: they pace a network feed for people, not the daemon's logic, and
 * must keep pace even while a replay runs the daemon on virtual time.
 */
class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private lastSentAt = 0;

  constructor(
    private readonly view: FleetView,
    private readonly checkMs: number,
    private readonly heartbeatMs: number,
  ) {}

  add(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    this.clients.add(res);
    res.write(this.event(JSON.stringify(this.view.status())));
    req.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    this.timer ??= setInterval(() => this.check(), this.checkMs);
  }

  get size(): number {
    return this.clients.size;
  }

  close(): void {
    this.stop();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private check(): void {
    const s = this.view.status();
    // What changes by itself (the time, the spend adding up) is no change worth a push.
    const signature = JSON.stringify({ ...s, now: 0, spend: { ...s.spend, today: 0, total: 0 } });
    const due = Date.now() - this.lastSentAt >= this.heartbeatMs;
    if (signature === this.last && !due) return;
    this.last = signature;
    const data = this.event(JSON.stringify(s));
    for (const c of this.clients) c.write(data);
    this.lastSentAt = Date.now();
  }

  private event(json: string): string {
    return `event: status\ndata: ${json}\n\n`;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
