import { packageVersion } from './paths.js';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import { FleetView } from '../http/fleet-view.js';
import { startStatusServer } from '../http/status-server.js';
import { createLogger } from '../log/logger.js';
import type { Daemon } from '../runtime/daemon.js';
import { comparePeers, type Comparison } from '../sim/peers/compare.js';
import { simulate } from '../sim/simulate.js';
import type { SimWorld } from '../sim/sim-world.js';
import { readTrace, traceWindow } from '../sim/trace.js';
import { ProgressLine, type ProgressSample } from './replay-progress.js';
import { formatSummary } from './replay-summary.js';

export interface ReplayArgs {
  trace: string;
  /** The lifecycle log to stdout (before the summary) instead of a file. */
  logs?: boolean;
  /** Where the lifecycle log goes; default `dda-replay-<time>.log` in the OS temp dir. */
  logFile?: string;
  /** Simulated seconds per wall second; absent: as fast as the CPU allows. */
  pace?: number;
  seed?: number;
  /** DDA_LOG_LEVEL: the log's level (warn: only warnings and errors). */
  level: string;
  /** Serve the status page on a loopback port during the replay. */
  statusPage?: boolean;
  /** The summary (default stdout) and the progress (default stderr). */
  out?: { write(s: string): unknown; isTTY?: boolean };
  err?: { write(s: string): unknown; isTTY?: boolean };
}

/**
 * The first run (`npm start` with nothing configured): the bundled trace through the real
 * daemon on the simulated CI server and cloud, for a person. Progress on stderr (in place on a
 * terminal, a line per simulated day elsewhere), the lifecycle log to a file it names (or
 * stdout with --logs), the live status page at a loopback URL, then a summary on stdout that
 * states its settings and sets our cost and wait beside the other autoscalers' on the same
 * traffic.
 */
export async function runReplay(a: ReplayArgs, config: Config): Promise<void> {
  const out = a.out ?? process.stdout;
  const err = a.err ?? process.stderr;
  const seed = a.seed ?? 1;
  const w = traceWindow(readTrace(a.trace), {});
  const days = Math.round((w.end - w.start) / 86_400_000);
  const traceName = shown(a.trace);

  const logPath = a.logs ? null : (a.logFile ?? join(tmpdir(), `dda-replay-${new Date().toISOString().replace(/[:.]/g, '-')}.log`));
  const fd = logPath === null ? 1 : openLog(logPath);
  const clockRef: { current: Clock | null } = { current: null };
  // The logger and the status page read the replay's virtual time, known once the replay starts.
  const replayTime: Clock = { now: () => clockRef.current?.now() ?? w.start, setTimeout: () => 0, clearTimeout: () => {} };
  const logger = createLogger({
    clock: replayTime,
    level: a.level,
    destination: pino.destination({ dest: fd, sync: true }),
  });

  let daemon: Daemon | undefined;
  const view = new FleetView(() => daemon, { clock: replayTime, version: packageVersion() });
  const http = a.statusPage === false ? undefined : await startStatusServer(view, '127.0.0.1:0');

  err.write(
    [
      `No CI server configured: replaying ${days} days of real CI traffic (${w.jobs.length} jobs, ${traceName})`,
      'through the daemon against a simulated CI server and cloud, in accelerated time.',
      'To drive a real fleet, name a CI server (DRONE_SERVER_HOST and DRONE_SERVER_TOKEN; see README, Configuration).',
      `  lifecycle log  ${logPath ?? 'stdout'}${logPath ? '   (--logs prints it here instead)' : ''}`,
      ...(http ? [`  status page    ${http.url}/   (live while the replay runs${a.pace ? '' : '; --pace 600 slows it to ten simulated minutes a second'})`] : []),
      '',
    ].join('\n'),
  );

  // A terminal gets one line redrawn in place, unless the log is printed to the same terminal.
  const inPlace = Boolean(err.isTTY) && !(a.logs && out.isTTY);
  const progress = new ProgressLine(err, inPlace, () => performance.now());
  const sample = (world: SimWorld, now: number): ProgressSample => ({ now, jobsDone: world.stats.completed, jobs: world.stats.jobs, instances: world.liveInstances, spentUsd: world.spentUsd(now) });
  const wall0 = performance.now();
  const pace = a.pace;
  let report;
  let world: SimWorld;
  try {
    ({ report, world } = await simulate({
      jobs: w.jobs,
      start: w.start,
      end: w.end,
      config,
      logger,
      world: { seed },
      onClock: (c) => (clockRef.current = c),
      onDaemon: (d) => (daemon = d),
      ...view.hooks,
      onStep: (wd, now) => progress.update(now, () => sample(wd, now)),
      ...(pace
        ? {
            pacer: {
              everyMs: Math.max(1_000, pace * 100),
              // Virtual time keeps to `pace` simulated seconds per wall second since the start.
              wait: async (now: number) => {
                const due = wall0 + (now - w.start) / pace;
                const ms = due - performance.now();
                if (ms > 0) await sleep(ms);
              },
            },
          }
        : {}),
    }));
  } finally {
    logger.flush();
    if (logPath !== null) closeSync(fd);
    await http?.close();
  }
  progress.done(sample(world, clockRef.current?.now() ?? w.end));

  let comparison: Comparison | string;
  if (config.pools.length !== 1) comparison = 'not compared: their policies size one pool, this replay has several';
  else {
    if (inPlace) err.write('comparing with the other autoscalers on the same traffic…');
    comparison = await comparePeers({ jobs: w.jobs, start: w.start, end: w.end, config, seed });
    if (inPlace) err.write('\r\u001b[K');
  }
  out.write(`\n${formatSummary({ trace: traceName, seed, config }, report, comparison)}\n`);
  if (logPath) err.write(`lifecycle log: ${logPath}\n`);
}

function openLog(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (e) {
    throw new DdaError('USAGE', `--log-file: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** A path as a person should read it: relative to the working directory when it is inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
