import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createActor } from 'xstate';
import { parseConfig } from '../src/config/config.js';
import type { ObservedInstance } from '../src/ports/cloud-provider.js';
import type { Stage } from '../src/ports/queue-source.js';
import { DEFAULT_DEMAND } from '../src/domain/pool.js';
import { supervisorMachine } from '../machines/supervisor/supervisor.machine.js';
import { liveCount } from '../machines/supervisor/selectors.js';

/**
 * Micro-benchmark: one supervisor step at scale. 1,000 instance actors (adopted from a fleet
 * snapshot, agents running) and 10,000 queued stages (1,000 running on our agents, 9,000
 * pending); then time a TICK (deadline forwarding → plan → apply), a QUEUE observation and a
 * FLEET observation. Run with --expose-gc for the memory figure. Prints one JSON line.
 */
export interface StepResult {
  instances: number;
  stages: number;
  tick_ms_median: number;
  tick_ms_p90: number;
  queue_ms_median: number;
  queue_ms_p90: number;
  fleet_ms_median: number;
  fleet_ms_p90: number;
  rss_mb: number;
  heap_used_mb: number;
  bytes_per_instance_actor: number | null;
  gc_exposed: boolean;
}

export function supervisorStep(o: { instances?: number; stages?: number; rounds?: number } = {}): StepResult {
  const N = o.instances ?? 1000;
  const S = o.stages ?? 10_000;
  const rounds = o.rounds ?? 30;
  const gc = (globalThis as { gc?: () => void }).gc;
  const cfg = parseConfig({ pools: [{ name: 'default', max: N }], planner: { maxInstances: N, budgetPerHour: 1e9 } });
  let now = Date.parse('2024-01-01T00:00:00Z');
  const actor = createActor(supervisorMachine, {
    input: {
      now,
      keyPrefix: 'bench',
      pools: cfg.pools,
      planner: cfg.planner,
      timeouts: { launchMs: 300_000, bootMs: 600_000, drainMs: 7_200_000, terminateRetryMs: 120_000 },
      goneGraceMs: 120_000,
    },
  });
  actor.start();
  const instances: ObservedInstance[] = Array.from({ length: N }, (_, k) => ({
    instanceId: `i-${k.toString(16).padStart(17, '0')}`,
    key: `bench-${k}`,
    pool: 'default',
    state: 'running',
    instanceType: 'c5.xlarge',
    market: 'on-demand',
    pricePerHour: 0.17,
    launchedAt: now - 600_000,
    registered: true,
    agent: 'running',
    draining: false,
  }));
  const stages: Stage[] = Array.from({ length: S }, (_, k) =>
    k < N
      ? { id: `s${k}`, status: 'running', demand: DEFAULT_DEMAND, agent: instances[k]!.instanceId, createdAt: now - 300_000, startedAt: now - 200_000 }
      : { id: `s${k}`, status: 'pending', demand: DEFAULT_DEMAND, createdAt: now - 100_000 },
  );
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  actor.send({ type: 'FLEET', snapshot: { at: now, instances } });
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  actor.send({ type: 'QUEUE', snapshot: { at: now, stages } });

  const time = (f: () => void) => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  const ticks: number[] = [];
  const queues: number[] = [];
  const fleets: number[] = [];
  for (let r = 0; r < rounds; r++) {
    now += 15_000;
    const at = now;
    // Fresh lists each round, as a CI server's and a cloud's answers are: nothing is kept from
    // the round before by identity (the simulator's unchanged answers are cheaper still).
    const shown = [...stages];
    const described = [...instances];
    queues.push(time(() => actor.send({ type: 'QUEUE', snapshot: { at, stages: shown } })));
    fleets.push(time(() => actor.send({ type: 'FLEET', snapshot: { at, instances: described } })));
    ticks.push(time(() => actor.send({ type: 'TICK', now: at })));
  }
  const live = liveCount(actor.getSnapshot());
  if (live !== N) throw new Error(`expected ${N} instance actors, found ${live}`);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const p90 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length * 0.9)]!;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const mem = process.memoryUsage();
  actor.stop();
  return {
    instances: N,
    stages: S,
    tick_ms_median: r2(med(ticks)),
    tick_ms_p90: r2(p90(ticks)),
    queue_ms_median: r2(med(queues)),
    queue_ms_p90: r2(p90(queues)),
    fleet_ms_median: r2(med(fleets)),
    fleet_ms_p90: r2(p90(fleets)),
    rss_mb: r2(mem.rss / 2 ** 20),
    heap_used_mb: r2(mem.heapUsed / 2 ** 20),
    bytes_per_instance_actor: gc ? Math.round((heapAfter - heapBefore) / N) : null,
    gc_exposed: gc !== undefined,
  };
}

// Run directly (as `npm run bench` does, in its own process): print the result as JSON.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({ options: { instances: { type: 'string' }, stages: { type: 'string' } } });
  process.stdout.write(`${JSON.stringify(supervisorStep({ ...(values.instances ? { instances: Number(values.instances) } : {}), ...(values.stages ? { stages: Number(values.stages) } : {}) }))}\n`);
}
