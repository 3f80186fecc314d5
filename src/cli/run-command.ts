import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { systemClock, within } from '../domain/clock.js';
import { createLogger } from '../log/logger.js';
import { describeError, isDdaError } from '../domain/errors.js';
import { startDaemon, type Daemon, type NoticeOutcome } from '../runtime/daemon.js';
import type { RestartReason } from '../runtime/build-restarts.js';
import { holderId, startReplica, type Replica } from '../runtime/replica.js';
import { FleetView } from '../http/fleet-view.js';
import { meterCloudProvider, meterQueueSource } from '../http/metered-ports.js';
import { checkListen, startStatusServer } from '../http/status-server.js';
import { packageVersion } from './paths.js';
import { resolveBackends } from './backends.js';
import { formatListen } from '../config/env.js';
import { startInspectorServer } from './inspector.js';
import { checkCiServerRequired, loadEnvironment } from './settings.js';

export interface RunArgs {
  config: Config;
  env: NodeJS.ProcessEnv;
  drainOnExit: boolean;
  inspect: boolean;
  bundledTrace: string;
  /** The embedded replay's own options (`--logs`, `--log-file`, `--pace`); ignored with a CI server. */
  replay?: { logs?: boolean; logFile?: string; pace?: number };
}

/**
 * The daemon. With no CI server configured it runs the embedded default: the bundled trace on
 * the simulated CI server and cloud, in accelerated (virtual) time, with progress, the status
 * page and a summary (replay-command.ts). Otherwise it polls the configured CI server and drives the configured cloud.
 */
export async function runDaemon(a: RunArgs): Promise<void> {
  const clock = systemClock;
  // Every variable is checked before anything starts: a bad one is one line and exit code 2.
  const settings = loadEnvironment(a.env, a.config);
  checkCiServerRequired(settings);
  const level = settings.daemon.logLevel;
  const logger = createLogger({ clock, level });
  for (const w of settings.warnings) logger.warn(w);
  const listen = settings.daemon.httpListen ? formatListen(settings.daemon.httpListen) : undefined;
  const token = settings.daemon.httpToken;
  // A status page beyond loopback without a token is refused before anything starts.
  if (listen) checkListen(listen, token);
  const backends = await resolveBackends(settings, a.config, { clock, logger });
  if (!backends) {
    const { runReplay } = await import('./replay-command.js');
    await runReplay({ trace: a.bundledTrace, level, ...a.replay }, a.config);
    return;
  }
  try {
    await backends.source.probe();
  } catch (e) {
    // Wrong credentials or a server without the queue endpoint will not heal: refuse to start.
    // A server that is down for now will: start blind (hold), as any later outage would.
    if (isDdaError(e) && (e.code === 'SOURCE_UNAUTHORIZED' || e.code === 'SOURCE_FORBIDDEN' || e.code === 'SOURCE_UNSUPPORTED' || e.code === 'CONFIG_INVALID')) throw e;
    logger.warn({ source: backends.source.kind, err: describeError(e) }, 'CI server not reachable at start: starting blind (holding until the queue is visible)');
  }
  const inspector = a.inspect ? await startInspector(logger, settings.daemon.inspectPort) : undefined;
  let daemon: Daemon | undefined;
  // With a lease store, the daemon runs only while this replica holds the lease (runtime/replica.ts).
  let replica: Replica | undefined;
  const view = new FleetView(() => replica?.daemon ?? daemon, { clock, version: packageVersion(), lease: () => replica?.lease() });
  // A server left listening would keep the process from exiting on the error.
  const http = listen
    ? await startStatusServer(view, listen, { token }).catch(async (e: unknown) => {
        await inspector?.close();
        throw e;
      })
    : undefined;
  if (http) logger.info({ url: http.url, auth: token ? 'bearer token' : 'none (loopback)' }, 'status page: /, /api/status, /api/events, /metrics, /healthz, /readyz');
  const daemonOptions = {
    config: a.config,
    // Metered where the backends are built: the daemon and the interpreter see the same ports.
    source: meterQueueSource(backends.source, view.meter, { clock, pools: a.config.pools }),
    cloud: meterCloudProvider(backends.cloud, view.meter, { clock }),
    clock,
    logger,
    ...view.hooks,
    ...(inspector ? { inspect: inspector.inspect } : {}),
    ...(backends.interruptions ? { interruptions: backends.interruptions } : {}),
    restartBuilds: settings.daemon.restartInterruptedBuilds,
    onNotice: (n: NoticeOutcome) => view.meter.noticed('ignored' in n ? n.ignored.why : n.notice.kind, 'ignored' in n ? 'ignored' : n.ours ? 'ours' : 'not-ours'),
    onBuildRestart: (source: string, reason: RestartReason) => view.meter.buildRestarted(source, reason),
  };
  if (backends.lease) replica = startReplica({ ...daemonOptions, lease: { ...backends.lease, holder: holderId(a.config.runtime.daemonId) } });
  else daemon = startDaemon(daemonOptions);
  const running: Pick<Daemon, 'stop' | 'halt' | 'leftBehind'> = replica ?? daemon!;
  logger.info({ source: backends.source.kind, cloud: backends.cloud.kind, pools: a.config.pools.map((p) => p.name), ...(backends.lease ? { lease: backends.lease.store.kind } : {}), ...(backends.interruptions ? { interruptions: backends.interruptions.kind } : {}) }, 'daemon started');
  const rt = a.config.runtime;
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig, drain: a.drainOnExit }, a.drainOnExit ? 'stopping: draining the fleet' : 'stopping: leaving the fleet for the next daemon to adopt');
      const done = (a.drainOnExit ? running.stop({ timeoutMs: DRAIN_ON_EXIT_MS }) : running.halt())
        .then(() => http?.close())
        .catch((e: unknown) => logger.error({ err: describeError(e) }, 'shutdown failed'));
      // Commands in flight end by their own deadline; this one bounds the whole shutdown, even
      // if a deadline is longer than the grace the process manager gives before SIGKILL.
      const boundMs = (a.drainOnExit ? DRAIN_ON_EXIT_MS : 0) + rt.shutdownTimeoutSeconds * 1000;
      void within(clock, done.then(() => true), boundMs, false).then((finished) => {
        const left = running.leftBehind();
        if (finished) logger.info({ instancesLeft: left.instances }, 'stopped');
        else logger.warn({ instancesLeft: left.instances, commandsInFlight: left.commands, shutdownTimeoutSeconds: rt.shutdownTimeoutSeconds }, 'shutdown deadline passed: exiting with commands in flight');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  logger.flush();
  // Keep-alive sockets to the CI server and the cloud would hold the process for a while more.
  process.exit(0);
}


/** `--drain-on-exit`: how long the fleet gets to drain to zero before it is left to the next daemon. */
const DRAIN_ON_EXIT_MS = 10 * 60 * 1000;

/**
 * Development only: a bridge to the Stately inspector on 127.0.0.1, fed by XState's inspection
 * stream (src/cli/inspector.ts). Machine context and events carry no secrets (tokens and agent
 * secrets never enter them). A busy port is a CONFIG_INVALID naming DDA_INSPECT_PORT.
 */
async function startInspector(logger: pino.Logger, port: number) {
  const server = await startInspectorServer({ port });
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url: server.wsUrl });
  logger.info({ url: server.url }, 'XState inspector: open this address in a browser');
  return {
    inspect: inspector.inspect,
    close: async () => {
      inspector.stop();
      await server.close();
    },
  };
}
