import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/traces.js';

/**
 * What the container image relies on, through the built CLI: with DDA_REQUIRE_CI_SERVER (set in
 * the image) and no CI server, `run` is one line and exit 2, not the demo; `healthcheck` answers
 * with Docker's exit codes. scripts/container-check.sh builds and runs the image itself.
 */
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** A loopback port that was free a moment ago and that nothing listens on now. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('the container entry points', { timeout: 60_000 }, () => {
  it('run with no CI server and DDA_REQUIRE_CI_SERVER: one line saying what to set, exit code 2, no replay', () => {
    const r = cli(['run'], { DDA_REQUIRE_CI_SERVER: 'true', DDA_HTTP_LISTEN: '0.0.0.0:9090' });
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(/^drone-dynamic-agents: CONFIG_INVALID: DRONE_SERVER_HOST \(or WOODPECKER_SERVER, or GOCD_SERVER_URL\): required: no CI server is configured, and DDA_REQUIRE_CI_SERVER/);
    expect(r.code).toBe(2);
  });

  it('healthcheck with nothing listening: exit code 1 (Docker reserves 2), one line', async () => {
    const port = await closedPort();
    const r = cli(['healthcheck'], { DDA_HTTP_LISTEN: `127.0.0.1:${port}` });
    expect(r.err).toBe(`unhealthy: http://127.0.0.1:${port}/healthz did not answer (ECONNREFUSED)\n`);
    expect(r.code).toBe(1);
  });
});
