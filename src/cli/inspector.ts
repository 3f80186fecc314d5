import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { DdaError } from '../domain/errors.js';

/**
 * The bridge between the daemon's XState inspection stream and Stately's inspector page, for
 * `run --inspect` (development). It does what `createInspectorServer` of @statelyai/inspect
 * does — a page that embeds the inspector, a WebSocket that relays the daemon's events to it —
 * but that one listens on every interface (it takes no host), lets any web page open the
 * socket and ends in an uncaught exception on a busy port. This one listens on loopback only,
 * accepts a socket only from its own page or a client that sends no Origin (the daemon's own
 * inspector), and reports a busy port as one line naming DDA_INSPECT_PORT.
 */
export interface InspectorServer {
  /** `http://127.0.0.1:<port>`: open it in a browser. */
  url: string;
  /** `ws://127.0.0.1:<port>`: where the daemon sends its inspection events. */
  wsUrl: string;
  port: number;
  close(): Promise<void>;
}

/** Events kept for a page that connects late (the upstream bridge keeps as many). */
const BUFFERED = 200;

export async function startInspectorServer(o: { port: number; host?: string; inspectorUrl?: string }): Promise<InspectorServer> {
  const host = o.host ?? '127.0.0.1';
  const inspectorUrl = o.inspectorUrl ?? 'https://stately.ai/inspect';
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(bridgePage(inspectorUrl));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? `port ${o.port} on ${host} is in use: set DDA_INSPECT_PORT to a free port` : `cannot listen on ${host}:${o.port} (${e.code ?? 'error'})`;
      reject(new DdaError('CONFIG_INVALID', `DDA_INSPECT_PORT: ${why}`, { variable: 'DDA_INSPECT_PORT', port: o.port }));
    });
    http.listen(o.port, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const own = new Set([`http://${host}:${port}`, `http://localhost:${port}`]);
  const wss = new WebSocketServer({ server: http, verifyClient: ({ req }: { req: IncomingMessage }) => req.headers.origin === undefined || own.has(req.headers.origin) });
  const buffer: string[] = [];
  wss.on('connection', (ws) => {
    for (const msg of buffer) ws.send(msg);
    ws.on('message', (data: Buffer) => {
      const msg = data.toString();
      buffer.push(msg);
      if (buffer.length > BUFFERED) buffer.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(msg);
    });
  });
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => resolve());
      }),
  };
}

/** The upstream bridge page, but for the socket's address: the page's own host, so it reaches the loopback address it was served from. */
function bridgePage(inspectorUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>drone-dynamic-agents: Stately Inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${inspectorUrl}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        buffer.forEach((event) => iframe.contentWindow.postMessage(event, '*'));
        buffer.length = 0;
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (connected) iframe.contentWindow.postMessage(data, '*');
      else buffer.push(data);
    };
  </script>
</body>
</html>
`;
}
