#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { describeError } from '../domain/errors.js';
import { BILLING_MODES, budget, count, integer, isoDate, nonNegative, positive, positiveInteger, warmPoolSize, type BillingMode } from './options.js';
import { bundledTrace, packageVersion } from './paths.js';

/*
 * Only commander and tiny modules are imported up here. Each command imports its own module in
 * its action: the AWS SDK alone takes a second or more to load, and `--help` should not wait
 * for it.
 */

interface Knobs {
  config?: string;
  billing?: BillingMode;
  idleGrace?: number;
  warmBuffer?: number;
  concurrency?: number;
  max?: number;
  fleetMax?: number;
  budget?: number;
  warmPool?: number | 'auto';
  waitTarget?: number;
}

const version = packageVersion();

const program = new Command('drone-dynamic-agents')
  .description('Keeps a pool of CI build agents sized to the CI server queue.')
  .version(version, '-V, --version', 'print the version')
  .showSuggestionAfterError(true)
  // Usage errors (commander's own) leave with exit code 2, as our own usage errors do; set before
  // the subcommands are made so they inherit it.
  .exitOverride();

const simKnobs = (c: Command) =>
  c
    .addOption(new Option('--billing <mode>', 'billing of the simulated cloud').choices(BILLING_MODES))
    .addOption(new Option('--idle-grace <seconds>', 'per-second billing: let an idle agent go after this long').argParser(nonNegative('--idle-grace')))
    .addOption(new Option('--warm-buffer <n>', 'idle agents kept beyond demand while there is work').argParser(count('--warm-buffer')))
    .addOption(new Option('--concurrency <n>', 'agent slots per instance').argParser(positiveInteger('--concurrency')))
    .addOption(new Option('--max <n>', 'max instances per pool (the fleet max and the budget apply as well)').argParser(count('--max')))
    .addOption(new Option('--fleet-max <n>', 'max instances of the whole fleet, all pools (planner.maxInstances, default 16)').argParser(count('--fleet-max')))
    .addOption(new Option('--budget <usd-per-hour>', 'spend limit of the whole fleet, USD per hour; none or 0: no budget (planner.budgetPerHour, default 5)').argParser(budget('--budget')))
    .addOption(new Option('--warm-pool <auto|n>', 'parked instances kept per pool, started in seconds instead of a cold boot: a number, or auto (sized per hour of the week from the arrivals seen)').argParser(warmPoolSize('--warm-pool')))
    .addOption(new Option('--wait-target <seconds>', 'with --warm-pool auto: the p95 build wait to aim for').argParser(positive('--wait-target')));

async function configFrom(opts: Knobs) {
  const { loadConfigFile, withOverrides } = await import('../config/load.js');
  return withOverrides(loadConfigFile(opts.config), opts);
}

simKnobs(
  program
    .command('simulate')
    .description('replay a CI trace through the daemon against a simulated CI server and cloud, on virtual time')
    .requiredOption('--trace <file>', 'job trace CSV (columns: job_id, created_at_iso, duration_s, ...)')
    .addOption(new Option('--from <iso>', 'start of the replay window (default: the first day of the trace)').argParser(isoDate('--from')))
    .addOption(new Option('--days <n>', 'length of the replay window in days (default: the whole trace)').argParser(positive('--days')))
    .option('--json', 'print the report as one JSON object')
    .addOption(new Option('--seed <n>', 'seed for simulated boot times and faults').argParser(integer('--seed')).default(1))
    .option('--logs', 'print lifecycle and decision logs before the report')
    .option('--config <file>', 'settings file (JSON: pools, planner, lifecycle, runtime)'),
).action(async (opts: Knobs & { trace: string; from?: number; days?: number; json?: boolean; seed: number; logs?: boolean }) => {
  const config = await configFrom(opts);
  const { runSimulation } = await import('./simulate-command.js');
  await runSimulation(opts, config);
});

simKnobs(
  program
    .command('run')
    .description('the daemon; with no CI server configured it replays the bundled trace on the simulated cloud')
    .option('--config <file>', 'settings file (JSON: pools, planner, lifecycle, runtime)')
    .option('--drain-on-exit', 'on SIGTERM drain the fleet to zero before exiting (default: leave it for the next daemon to adopt)')
    .option('--inspect', 'serve the XState inspector on a local WebSocket (development)')
    .option('--logs', 'embedded replay: print the lifecycle log to stdout instead of a file')
    .option('--log-file <path>', 'embedded replay: write the lifecycle log here (default: dda-replay-<time>.log in the temp dir)')
    .addOption(new Option('--pace <seconds>', 'embedded replay: simulated seconds per wall second, to watch the status page (default: as fast as it goes)').argParser(positive('--pace'))),
).action(async (opts: Knobs & { drainOnExit?: boolean; inspect?: boolean; logs?: boolean; logFile?: string; pace?: number }) => {
  const config = await configFrom(opts);
  const { runDaemon } = await import('./run-command.js');
  const replay = { ...(opts.logs ? { logs: true } : {}), ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}), ...(opts.pace !== undefined ? { pace: opts.pace } : {}) };
  await runDaemon({ config, env: process.env, drainOnExit: Boolean(opts.drainOnExit), inspect: Boolean(opts.inspect), bundledTrace: bundledTrace(), replay });
});

program
  .command('config')
  .description('print the effective settings as JSON (the settings file over the defaults, and the environment per adapter), secrets masked; exit code 2 if any is invalid')
  .option('--config <file>', 'settings file (JSON: pools, planner, lifecycle, runtime)')
  .action(async (opts: { config?: string }) => {
    const config = await configFrom(opts);
    const { effectiveSettings, loadEnvironment, settingsJson } = await import('./settings.js');
    const env = loadEnvironment(process.env, config);
    for (const w of env.warnings) process.stderr.write(`drone-dynamic-agents: warning: ${w}\n`);
    process.stdout.write(`${settingsJson(effectiveSettings(config, env))}\n`);
  });

program
  .command('trace')
  .description('work with job traces')
  .command('generate')
  .description('write a bigger trace for scale tests: copies of a real one overlaid, each a few minutes later, with ids of its own')
  .requiredOption('--copies <n>', 'how many copies of the trace to overlay', positiveInteger('--copies'))
  .requiredOption('--out <file>', 'where to write the generated trace CSV')
  .option('--trace <file>', 'the trace to copy (default: the bundled 3-week trace)')
  .addOption(new Option('--shift-minutes <m>', 'how much later each copy starts than the one before').argParser(nonNegative('--shift-minutes')).default(5))
  .action(async (opts: { copies: number; out: string; trace?: string; shiftMinutes: number }) => {
    const { generateTrace } = await import('./trace-command.js');
    generateTrace({ ...opts, trace: opts.trace ?? bundledTrace() });
  });

program
  .command('healthcheck')
  .description("ask the running daemon's /healthz, at the address DDA_HTTP_LISTEN gives, whether it is alive: exit 0 if so, 1 if not (the container's HEALTHCHECK; needs no curl)")
  .action(async () => {
    const { runHealthcheck } = await import('./healthcheck-command.js');
    process.exitCode = await runHealthcheck(process.env);
  });

program
  .command('diagrams')
  .description('regenerate docs/diagrams.md from the statecharts')
  .action(async () => {
    const { writeDiagrams } = await import('./diagrams-command.js');
    const path = writeDiagrams();
    process.stdout.write(`wrote ${path}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Commander has printed its message (or the help, or the version) already.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    return;
  }
  process.stderr.write(`drone-dynamic-agents: ${describeError(e)}\n`);
  process.exitCode = 2;
});
