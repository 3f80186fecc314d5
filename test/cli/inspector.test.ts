import { createServer as createNetServer, connect, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startInspectorServer, type InspectorServer } from '../../src/cli/inspector.js';
import { FakeDrone } from '../sources/fake-drone.js';
import { CliProcess } from '../helpers/cli-process.js';

/** `run --inspect` (development): the inspector bridge listens on loopback only, and a busy port is one line. */
const TOKEN = 'inspector-test-token-77';

let server: InspectorServer | undefined;
let busy: Server | undefined;
let drone: FakeDrone | undefined;
let cli: CliProcess | undefined;
afterEach(async () => {
  cli?.kill('SIGKILL');
  cli = undefined;
  await server?.close();
  server = undefined;
  await new Promise<void>((r) => (busy ? busy.close(() => r()) : r()));
  busy = undefined;
  await drone?.close();
  drone = undefined;
});

/** Whether a TCP connection to host:port is accepted. */
const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const opened = (ws: WebSocket) =>
  new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const droneEnv = (d: FakeDrone) => ({ DRONE_SERVER_PROTO: 'http', DRONE_SERVER_HOST: new URL(d.url).host, DRONE_SERVER_TOKEN: TOKEN, DRONE_RPC_SECRET_REF: '/dda/drone-rpc-secret' });

describe('the inspector bridge', () => {
  it('listens on 127.0.0.1 only: no other interface of the machine answers', async () => {
    server = await startInspectorServer({ port: 0 });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await reachable('127.0.0.1', server.port)).toBe(true);
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4');
    for (const a of others) expect(await reachable(a!.address, server.port), a!.address).toBe(false);
    expect(await reachable('::1', server.port)).toBe(false);
  });

  it('serves the bridge page, which opens its socket on the host it came from', async () => {
    server = await startInspectorServer({ port: 0 });
    const page = await (await fetch(server.url)).text();
    expect(page).toContain("new WebSocket('ws://' + location.host)");
    expect(page).toContain('src="https://stately.ai/inspect"');
  });

  it('relays the daemon’s events to the page; a socket from another web page is refused', async () => {
    server = await startInspectorServer({ port: 0 });
    const daemon = new WebSocket(server.wsUrl);
    expect(await opened(daemon)).toBe(101);
    daemon.send(JSON.stringify({ type: '@xstate.event', n: 1 }));
    const page = new WebSocket(server.wsUrl, { origin: server.url });
    const first = new Promise<string>((r) => page.once('message', (d: Buffer) => r(d.toString())));
    expect(await opened(page)).toBe(101);
    expect(JSON.parse(await first)).toEqual({ type: '@xstate.event', n: 1 });
    expect(await opened(new WebSocket(server.wsUrl, { origin: `http://localhost:${server.port}` }))).toBe(101);
    expect(await opened(new WebSocket(server.wsUrl, { origin: 'https://evil.example' }))).toBe(401);
    daemon.close();
    page.close();
  });

  it('a busy port is a CONFIG_INVALID naming DDA_INSPECT_PORT', async () => {
    busy = createNetServer();
    await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    await expect(startInspectorServer({ port })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: `DDA_INSPECT_PORT: port ${port} on 127.0.0.1 is in use: set DDA_INSPECT_PORT to a free port` });
  });
});

describe('run --inspect', () => {
  it('a busy port: one line and exit code 2, before the daemon starts', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    busy = createNetServer();
    await new Promise<void>((r) => busy!.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    cli = new CliProcess(['run', '--inspect'], { ...droneEnv(drone), DDA_INSPECT_PORT: String(port) });
    expect(await cli.exited).toBe(2);
    expect(cli.stderr).toBe(`drone-dynamic-agents: CONFIG_INVALID: DDA_INSPECT_PORT: port ${port} on 127.0.0.1 is in use: set DDA_INSPECT_PORT to a free port\n`);
    expect(cli.lines.find((l) => l.msg === 'daemon started')).toBeUndefined();
  }, 30_000);

  it('serves the inspector on 127.0.0.1 at DDA_INSPECT_PORT and feeds it the daemon’s actors', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    const port = await freePort();
    cli = new CliProcess(['run', '--inspect'], { ...droneEnv(drone), DDA_INSPECT_PORT: String(port) });
    const line = await cli.waitFor((ls) => ls.find((l) => String(l.msg).startsWith('XState inspector')), 'the inspector line');
    expect(line.url).toBe(`http://127.0.0.1:${port}`);
    await cli.waitFor((ls) => ls.find((l) => l.msg === 'daemon started'), 'daemon started');
    const page = new WebSocket(`ws://127.0.0.1:${port}`, { origin: `http://127.0.0.1:${port}` });
    const event = new Promise<string>((r) => page.once('message', (d: Buffer) => r(d.toString())));
    expect(await opened(page)).toBe(101);
    expect(await event).toMatch(/supervisor|@xstate/);
    page.close();
    for (const a of Object.values(networkInterfaces()).flat().filter((x) => x && !x.internal && x.family === 'IPv4')) expect(await reachable(a!.address, port)).toBe(false);
    cli.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  }, 30_000);
});
