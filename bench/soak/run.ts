import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { addTallies, emptyTally, type SoakTally } from './batch.js';
import { runScenario } from './check.js';
import { FAULT_KINDS, faultKindsOf, soakArb, soakScenario, soakSeedOf, type Scenario } from './scenario.js';

/**
 * `npm run soak`: randomized fault scenarios through the real daemon on the simulator, every
 * invariant (bench/soak/check.ts) checked after every simulated instant, in worker processes;
 * prints progress and the counts, exits 1 on any violation with the seed, the scenario number
 * and the shrunk scenario to replay (`npm run soak -- --seed S --scenario K`).
 *
 *   --scenarios N   how many (default 10000)      --seed S   the soak's seed (default: random)
 *   --jobs N        worker processes (default: the number of cores)
 *   --scenario K    run scenario K of the seed alone, print its trace and shrink it if it fails
 */
const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    jobs: { type: 'string' },
    scenario: { type: 'string' },
    batch: { type: 'string', default: '20' },
  },
});

function bad(msg: string): never {
  process.stderr.write(`soak: ${msg}\n`);
  process.exit(2);
}
const int = (name: string, s: string | undefined, min: number): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) bad(`--${name} must be an integer of at least ${min}, not "${s}"`);
  return n;
};

const seed = int('seed', args.seed, 0) ?? Math.floor(Math.random() * 2 ** 31);
const scenarios = int('scenarios', args.scenarios, 1)!;
const jobs = int('jobs', args.jobs, 1) ?? availableParallelism();
const batch = int('batch', args.batch, 1)!;
const one = int('scenario', args.scenario, 0);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  if (one !== undefined) return replay(one);
  out(`soak: ${scenarios} scenarios, seed ${seed}, ${jobs} worker process(es)`);
  const t0 = performance.now();
  const total = emptyTally();
  let workerCpuMs = 0;
  let next = 0;
  let lastPrint = 0;
  const progress = (force = false) => {
    const now = performance.now();
    if (!force && now - lastPrint < 10_000) return;
    lastPrint = now;
    const s = (now - t0) / 1000;
    out(`  ${total.scenarios}/${scenarios} scenarios, ${total.counts.checks} checks, ${total.failed.length} failing, ${s.toFixed(0)} s (${(total.scenarios / Math.max(s, 1e-3)).toFixed(1)}/s)`);
  };
  await Promise.all(
    Array.from({ length: Math.min(jobs, Math.ceil(scenarios / batch)) }, () =>
      new Promise<void>((done, failed) => {
        const w = fork(resolve(here, 'worker.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let cpuMs = 0;
        const send = () => {
          if (next >= scenarios) {
            workerCpuMs += cpuMs;
            w.kill();
            done();
            return;
          }
          const from = next;
          next = Math.min(scenarios, next + batch);
          w.send({ seed, from, to: next });
        };
        w.on('message', (m: { tally: SoakTally; cpuMs: number }) => {
          addTallies(total, m.tally);
          cpuMs = m.cpuMs;
          progress();
          send();
        });
        w.on('exit', (code) => {
          if (next < scenarios || code) failed(new Error(`a worker exited with code ${code}`));
        });
        w.on('error', failed);
        send();
      }),
    ),
  );
  progress(true);
  const wallS = (performance.now() - t0) / 1000;
  const self = process.cpuUsage();
  const cpuS = (workerCpuMs + (self.user + self.system) / 1000) / 1000;
  const c = total.counts;
  out('');
  out(`soak seed ${seed}: ${total.scenarios} scenarios in ${wallS.toFixed(1)} s wall, ${cpuS.toFixed(1)} s CPU (${jobs} workers)`);
  out(`  scenarios per fault kind:`);
  for (const k of FAULT_KINDS) out(`    ${k.padEnd(28)} ${total.byKind[k]}`);
  out(`  simulated instants checked   ${c.steps}`);
  out(`  invariant checks made        ${c.checks}`);
  out(`  planner decisions checked    ${c.decisions}`);
  out(`  jobs run                     ${c.jobs}`);
  out(`  launches                     ${c.launches}`);
  out(`  daemons started              ${c.daemonsStarted} (restarts and takeovers included)`);
  out(`  calls that never answered    ${c.hungCalls}`);
  out(`  calls refused as throttled   ${c.throttledCalls}`);
  out(`  describes failed (blind)     ${c.blindDescribes}`);
  out(`  duplicate-key instances      ${c.twins}`);
  out(`  spot interruptions           ${c.interruptions}`);
  out(`  builds lost to interruptions ${c.lostToInterruptions} (each requeued and ${total.failed.length === 0 ? 'run to completion' : 'checked to complete'})`);
  out(`  leaked instance-seconds      ${Math.round(c.leakedInstanceSeconds)}`);
  out(`  violations                   ${total.failed.length}`);
  if (total.failed.length === 0) return 0;
  const failed = [...total.failed].sort((a, b) => a.k - b.k);
  out('');
  for (const f of failed.slice(0, 10)) out(`  scenario ${f.k}: ${f.violations[0]}${f.violations.length > 1 ? ` (+${f.violations.length - 1})` : ''}`);
  const first = failed[0]!;
  out('');
  out(`shrinking scenario ${first.k} (replay: npm run soak -- --seed ${seed} --scenario ${first.k})`);
  await shrink(first.k);
  return 1;
}

/** Scenario `k` alone: its fault kinds, its trace on failure, then its shrunk form. */
async function replay(k: number): Promise<number> {
  const s = soakScenario(seed, k);
  out(`soak seed ${seed}, scenario ${k}: ${faultKindsOf(s).join(', ') || 'no faults'}`);
  out(JSON.stringify(s));
  const lines: string[] = [];
  const r = await runScenario(s, (l) => lines.push(l));
  out(`${r.counts.steps} instants, ${r.counts.checks} checks, ${r.counts.jobs} jobs, ${r.counts.daemonsStarted} daemon(s), ${r.violations.length} violation(s)`);
  if (r.violations.length === 0) return 0;
  for (const l of lines.slice(-200)) out(`  ${l}`);
  for (const v of r.violations) out(`violation: ${v}`);
  await shrink(k);
  return 1;
}

/** fast-check's shrinking from the scenario's own seed: the first value it draws is scenario k. */
async function shrink(k: number): Promise<void> {
  const details = await fc.check(
    fc.asyncProperty(soakArb(), async (s: Scenario) => (await runScenario(s)).violations.length === 0),
    { seed: soakSeedOf(seed, k), numRuns: 1, endOnFailure: false },
  );
  const ce = details.counterexample?.[0];
  if (!ce) {
    out('  (the scenario did not fail again when shrinking: it depends on more than its data)');
    return;
  }
  const v = await runScenario(ce);
  out(`minimal failing scenario (${details.numShrinks} shrinks), for test/properties/regressions.test.ts:`);
  out(JSON.stringify(ce, null, 1));
  for (const line of v.violations) out(`  ${line}`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
