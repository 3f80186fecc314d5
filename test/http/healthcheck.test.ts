import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { healthcheck } from '../../src/cli/healthcheck-command.js';
import { FleetView } from '../../src/http/fleet-view.js';
import { startStatusServer, type StatusServer } from '../../src/http/status-server.js';

/** The container's HEALTHCHECK (`drone-dynamic-agents healthcheck`) against loopback servers. */
describe('healthcheck', () => {
  let http: StatusServer | undefined;
  let plain: Server | undefined;
  afterEach(async () => {
    await http?.close();
    await new Promise((r) => (plain ? plain.close(r) : r(undefined)));
    http = plain = undefined;
  });

  const portOf = (url: string) => Number(new URL(url).port);

  it('is healthy when the status server answers /healthz 200, with a token set and DDA_HTTP_LISTEN on every interface', async () => {
    // The image listens on 0.0.0.0 with a token; the check asks loopback, and /healthz needs no token.
    http = await startStatusServer(new FleetView(() => undefined), '127.0.0.1:0', { token: 'a-token-of-sixteen-chars-or-more' });
    const r = await healthcheck({ DDA_HTTP_LISTEN: `0.0.0.0:${portOf(http.url)}`, DDA_HTTP_TOKEN: 'a-token-of-sixteen-chars-or-more' });
    expect(r).toEqual({ healthy: true, line: `healthy: http://127.0.0.1:${portOf(http.url)}/healthz answered 200 (starting)` });
  });

  it('is unhealthy when /healthz answers anything but 200, and says what it answered', async () => {
    plain = createServer((_req, res) => res.writeHead(503).end('stopped\n'));
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', r));
    const port = (plain.address() as AddressInfo).port;
    expect(await healthcheck({ DDA_HTTP_LISTEN: `${port}` })).toEqual({ healthy: false, line: `unhealthy: http://127.0.0.1:${port}/healthz answered 503 (stopped)` });
  });

  it('is unhealthy when nothing answers in time', async () => {
    // Accepts and never answers: the check gives up at its own deadline, before Docker's.
    plain = createServer(() => undefined);
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', r));
    const port = (plain.address() as AddressInfo).port;
    const r = await healthcheck({ DDA_HTTP_LISTEN: `127.0.0.1:${port}` }, { timeoutMs: 200 });
    expect(r).toEqual({ healthy: false, line: `unhealthy: http://127.0.0.1:${port}/healthz did not answer (TimeoutError)` });
    plain.closeAllConnections();
  });

  it('is unhealthy when nothing listens', async () => {
    plain = createServer();
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', r));
    const port = (plain.address() as AddressInfo).port;
    await new Promise((r) => plain!.close(r));
    plain = undefined;
    expect(await healthcheck({ DDA_HTTP_LISTEN: `127.0.0.1:${port}` })).toEqual({ healthy: false, line: `unhealthy: http://127.0.0.1:${port}/healthz did not answer (ECONNREFUSED)` });
  });

  it.each([
    [{}, 'DDA_HTTP_LISTEN is not set: there is no status server to ask (set it, e.g. 0.0.0.0:9090, as the image does)'],
    [{ DDA_HTTP_LISTEN: '0' }, 'DDA_HTTP_LISTEN has port 0 (any free port): the check cannot know which; set a port'],
    [{ DDA_HTTP_LISTEN: '127.0.0.1:99999' }, 'CONFIG_INVALID: DDA_HTTP_LISTEN: the port must be 0 to 65535, not 99999'],
  ])('cannot ask with %j', async (env, line) => {
    expect(await healthcheck(env)).toEqual({ healthy: false, line });
  });
});
