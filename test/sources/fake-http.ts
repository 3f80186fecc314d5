import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP server on 127.0.0.1 (port 0) for testing the queue sources against real sockets.
 * A fake CI server registers routes; tests inject faults per path to see how a source copes.
 */

export type Fault =
  /** Answer this status (with an optional body) instead of the route. */
  | { kind: 'status'; status: number; body?: string }
  /** Hold the answer this long (beyond the client's timeout), then answer normally. */
  | { kind: 'slow'; ms: number }
  /** Answer 200 with this exact body (truncated or mistyped documents). */
  | { kind: 'body'; body: string; contentType?: string }
  /** Send headers and half a body, then cut the connection. */
  | { kind: 'drop' };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status: number;
  body?: string;
  contentType?: string;
}

export type Route = (req: RecordedRequest, params: Record<string, string>) => Reply;

export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: { method: string; pattern: RegExp; keys: string[]; route: Route }[] = [];
  private readonly faults = new Map<string, Fault>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `path` may hold `:name` segments; the query string is not part of the match. */
  on(method: string, path: string, route: Route): this {
    const keys: string[] = [];
    const pattern = new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/:(\w+)/g, (_m, k: string) => (keys.push(k), '([^/]+)'))}$`);
    this.routes.push({ method, pattern, keys, route });
    return this;
  }

  /** Inject a fault for every request to `path` (without query); `undefined` clears it. */
  fault(path: string, fault: Fault | undefined): void {
    if (fault) this.faults.set(path, fault);
    else this.faults.delete(path);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '/').split('?')[0]!;
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString() };
    this.requests.push(recorded);

    const fault = this.faults.get(path);
    if (fault?.kind === 'slow') await new Promise<void>((resolve) => this.timers.add(setTimeout(resolve, fault.ms)));
    if (res.destroyed) return;
    if (fault?.kind === 'status') return send(res, { status: fault.status, body: fault.body ?? '' });
    if (fault?.kind === 'body') return send(res, { status: 200, body: fault.body, contentType: fault.contentType ?? 'application/json' });
    if (fault?.kind === 'drop') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('[{"id": 1, "sta');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    for (const r of this.routes) {
      const m = r.method === recorded.method ? r.pattern.exec(path) : null;
      if (!m) continue;
      const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1]!)]));
      return send(res, r.route(recorded, params));
    }
    send(res, { status: 404, body: '404 page not found', contentType: 'text/plain' });
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.body ?? '';
  res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });

/** Query parameters of a recorded request. */
export function query(req: RecordedRequest): URLSearchParams {
  return new URL(req.path, 'http://x').searchParams;
}

/** A port nothing listens on: bind, read the port, close. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
