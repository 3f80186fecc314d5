#!/usr/bin/env node
import { Command, Option } from 'commander';
import { loadConfigFile, withOverrides } from '../config/load.js';
import { describeError } from '../domain/errors.js';
import { bundledTrace } from './paths.js';
import { runDaemon } from './run-command.js';
import { runSimulation } from './simulate-command.js';
import { writeDiagrams } from './diagrams-command.js';

const program = new Command('drone-dynamic-agents')
  .description('Keeps a pool of CI build agents sized to the CI server queue.')
  .showSuggestionAfterError(true);

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, not "${v}"`);
  return n;
};

const simKnobs = (c: Command) =>
  c
    .addOption(new Option('--billing <mode>', 'per-second or hourly billing (simulated cloud)'))
    .addOption(new Option('--idle-grace <seconds>', 'per-second billing: let an idle agent go after this long').argParser(num('--idle-grace')))
    .addOption(new Option('--warm-buffer <n>', 'idle agents kept beyond demand while there is work').argParser(num('--warm-buffer')))
    .addOption(new Option('--concurrency <n>', 'agent slots per instance').argParser(num('--concurrency')))
    .addOption(new Option('--max <n>', 'max instances per pool').argParser(num('--max')));

simKnobs(
  program
    .command('simulate')
    .description('replay a CI trace through the daemon against a simulated CI server and cloud, on virtual time')
    .requiredOption('--trace <file>', 'job trace CSV (columns: job_id, created_at_iso, duration_s, ...)')
    .option('--from <iso>', 'start of the replay window (default: the first day of the trace)')
    .option('--days <n>', 'length of the replay window in days (default: the whole trace)')
    .option('--json', 'print the report as one JSON object')
    .option('--seed <n>', 'seed for simulated boot times and faults', '1')
    .option('--logs', 'print lifecycle and decision logs before the report')
    .option('--config <file>', 'settings file (JSON: pools, planner, lifecycle, runtime)'),
).action(async (opts) => {
  const config = withOverrides(loadConfigFile(opts.config), opts);
  await runSimulation(opts, config);
});

simKnobs(
  program
    .command('run')
    .description('the daemon; with no CI server configured it replays the bundled trace on the simulated cloud')
    .option('--config <file>', 'settings file (JSON: pools, planner, lifecycle, runtime)')
    .option('--drain-on-exit', 'on SIGTERM drain the fleet to zero before exiting (default: leave it for the next daemon to adopt)')
    .option('--inspect', 'serve the XState inspector on a local WebSocket (development)'),
).action(async (opts) => {
  const config = withOverrides(loadConfigFile(opts.config), opts);
  await runDaemon({ config, env: process.env, drainOnExit: Boolean(opts.drainOnExit), inspect: Boolean(opts.inspect), bundledTrace: bundledTrace() });
});

program
  .command('diagrams')
  .description('regenerate docs/diagrams.md from the statecharts')
  .action(() => {
    const path = writeDiagrams();
    process.stdout.write(`wrote ${path}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`drone-dynamic-agents: ${describeError(e)}\n`);
  process.exitCode = 2;
});
