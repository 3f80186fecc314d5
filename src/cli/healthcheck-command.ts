import { loadDaemonSettings } from '../config/daemon-env.js';
import { formatListen, type Env } from '../config/env.js';
import { describeError } from '../domain/errors.js';

/**
 * `drone-dynamic-agents healthcheck`: the container's HEALTHCHECK. It asks the daemon's own
 * `/healthz` at the address DDA_HTTP_LISTEN gives, so the image needs no curl and the check
 * follows the port wherever the operator moves it. Liveness, not readiness: a daemon that cannot
 * see its CI server or its cloud holds correctly, and restarting it would not bring either back
 * (`/readyz` says that). `/healthz` asks for no token, even beyond loopback.
 *
 * Exit codes are Docker's: 0 healthy, 1 unhealthy (2 is reserved there), with one line saying why.
 */
export interface HealthcheckResult {
  healthy: boolean;
  line: string;
}

export async function healthcheck(vars: Env, o: { timeoutMs?: number } = {}): Promise<HealthcheckResult> {
  let url: string;
  try {
    const listen = loadDaemonSettings(vars).httpListen;
    if (!listen) return { healthy: false, line: 'DDA_HTTP_LISTEN is not set: there is no status server to ask (set it, e.g. 0.0.0.0:9090, as the image does)' };
    if (listen.port === 0) return { healthy: false, line: 'DDA_HTTP_LISTEN has port 0 (any free port): the check cannot know which; set a port' };
    // The daemon listens on every interface or on one; loopback reaches it either way from inside.
    const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
    url = `http://${formatListen({ host, port: listen.port })}/healthz`;
  } catch (e) {
    return { healthy: false, line: describeError(e) };
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 4000), redirect: 'manual' });
    const body = (await res.text()).trim().slice(0, 200);
    return res.status === 200 ? { healthy: true, line: `healthy: ${url} answered 200 (${body})` } : { healthy: false, line: `unhealthy: ${url} answered ${res.status} (${body})` };
  } catch (e) {
    // fetch's own error says only "fetch failed"; its cause says why (ECONNREFUSED, bad port).
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (e as Error).name;
    return { healthy: false, line: `unhealthy: ${url} did not answer (${cause})` };
  }
}

export async function runHealthcheck(vars: Env): Promise<number> {
  const r = await healthcheck(vars);
  (r.healthy ? process.stdout : process.stderr).write(`${r.line}\n`);
  return r.healthy ? 0 : 1;
}
