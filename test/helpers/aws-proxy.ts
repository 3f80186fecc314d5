import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A loopback HTTP proxy in front of moto_server that can misbehave per AWS action, as the
 * network and AWS do: answer normally, lose the answer of a call that took effect (forward it,
 * then tell the SDK 500), or accept the request and never answer (a black hole).
 */
export type ProxyBehaviour = 'forward' | 'forward-then-500' | 'forward-then-hang' | 'hang' | ProxyFailure | ProxyReply | ProxyXmlReply | ProxyEdit;

/** Answer with this EC2 error without forwarding (the call never takes effect): what moto cannot produce, e.g. InsufficientInstanceCapacity. */
export interface ProxyFailure {
  fail: string;
  status?: number;
  message?: string;
}

/**
 * Answer 200 with this JSON body without forwarding (JSON APIs such as ECS): a call AWS accepted
 * whose effect has not shown yet, e.g. StopTask while the agent still finishes its build.
 */
export interface ProxyReply {
  reply: unknown;
}

/** Answer 200 with this XML body without forwarding (query APIs such as EC2): what moto cannot answer, e.g. a spot request it never recorded. */
export interface ProxyXmlReply {
  xml: string;
}

/** Forward, then rewrite the answer's body: a field moto leaves out, e.g. an instance's SpotInstanceRequestId. */
export interface ProxyEdit {
  edit: (body: string) => string;
}

export interface AwsProxy {
  endpoint: string;
  /** Every AWS action seen, in order (EC2 `Action=`, ECS `X-Amz-Target`). */
  readonly actions: string[];
  /** Every request, in order, with its body (EC2: form-encoded parameters; ECS: JSON). */
  readonly requests: { action: string; body: string }[];
  /** Requests accepted and never answered, still open. */
  readonly hanging: number;
  close(): Promise<void>;
}

/**
 * One queue shared by several proxies: the actions it names reach moto one at a time, each
 * once the one before has been answered. DynamoDB applies a conditional write atomically;
 * moto_server checks the condition and writes in separate steps on its request threads, so two
 * replicas' writes sent at the same instant may both pass `attribute_not_exists` there.
 */
export interface AtomicWrites {
  readonly actions: ReadonlySet<string>;
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function atomicWrites(actions: string[]): AtomicWrites {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    actions: new Set(actions),
    run<T>(fn: () => Promise<T>): Promise<T> {
      const next = tail.then(fn, fn);
      tail = next.catch(() => undefined);
      return next;
    },
  };
}

/** `decide` gets the action and how many times it has been seen before this one (0 for the first). */
export async function startAwsProxy(target: string, decide: (action: string, seen: number) => ProxyBehaviour = () => 'forward', opts: { atomic?: AtomicWrites } = {}): Promise<AwsProxy> {
  const to = new URL(target);
  const actions: string[] = [];
  const requests: { action: string; body: string }[] = [];
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await read(req);
    const action = actionOf(req, body);
    const n = seen.get(action) ?? 0;
    seen.set(action, n + 1);
    actions.push(action);
    requests.push({ action, body: body.toString('utf8') });
    const behaviour = decide(action, n);
    if (behaviour === 'hang') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (typeof behaviour === 'object' && 'xml' in behaviour) {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(behaviour.xml);
      return;
    }
    if (typeof behaviour === 'object' && 'edit' in behaviour) {
      const answer = await forward(req, body);
      const edited = Buffer.from(behaviour.edit(answer.body.toString('utf8')), 'utf8');
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(edited.length) });
      res.end(edited);
      return;
    }
    if (typeof behaviour === 'object' && 'reply' in behaviour) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(behaviour.reply));
      return;
    }
    if (typeof behaviour === 'object') {
      res.writeHead(behaviour.status ?? 400, { 'content-type': 'text/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${behaviour.fail}</Code><Message>${behaviour.message ?? `${behaviour.fail} (injected by the test proxy)`}</Message></Error></Errors><RequestID>proxy-injected</RequestID></Response>`,
      );
      return;
    }
    const answer = await forward(req, body);
    if (behaviour === 'forward-then-hang') {
      // The call took effect; its answer never comes (the caller dies or gives up first).
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (behaviour === 'forward-then-500') {
      // EC2's own shape for an internal error: the SDK classes it as a server fault and retries.
      res.writeHead(500, { 'content-type': 'text/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>proxy-lost-answer</RequestID></Response>');
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  function forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const { atomic } = opts;
    return atomic?.actions.has(actionOf(req, body)) ? atomic.run(() => send(req, body)) : send(req, body);
  }

  function send(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: to.host };
      const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (r) => {
        void read(r).then((b) => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection') h[k] = v;
          h['content-length'] = String(b.length);
          resolve({ status: r.statusCode ?? 502, headers: h, body: b });
        }, reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    actions,
    requests,
    get hanging() {
      return held.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function read(r: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    r.on('data', (b: Buffer) => parts.push(b));
    r.on('end', () => resolve(Buffer.concat(parts)));
    r.on('error', reject);
  });
}

function actionOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const m = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString('utf8'));
  return m?.[1] ?? `${req.method} ${req.url}`;
}
