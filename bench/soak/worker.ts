import { emptyTally, runSoakScenario } from './batch.js';

/** A soak worker process: runs the scenario ranges it is sent, one at a time, and answers each with its tally and its CPU time. */
process.on('message', (msg: { seed: number; from: number; to: number }) => {
  void (async () => {
    const tally = emptyTally();
    for (let k = msg.from; k < msg.to; k++) await runSoakScenario(msg.seed, k, tally);
    const cpu = process.cpuUsage();
    process.send!({ tally, cpuMs: (cpu.user + cpu.system) / 1000 });
  })();
});
