import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createActor, type AnyActorRef, type InspectionEvent } from 'xstate';
import { parseConfig } from '../src/config/config.js';
import { simulate } from '../src/sim/simulate.js';
import { readTrace, traceWindow } from '../src/sim/trace.js';
import { instanceMachine } from '../machines/instance/instance.machine.js';
import type { InstanceTimeouts } from '../machines/instance/events.js';
import { supervisorMachine } from '../machines/supervisor/supervisor.machine.js';

/**
 * The least a replay can cost with the real machines in it: the events the daemon's actors
 * process, each at what XState itself takes for it, with none of our work, no simulated world,
 * no clock and no collector.
 *
 * 1. Replays `--days` of a trace with the system's inspection on, counting the events each kind
 *    of actor processes: instance actors, and the supervisor's INSTANCE_VIEW (an instance's report,
 *    which the supervisor keeps with one assign) and its other events.
 * 2. Times the same kinds of events on the real machines alone, each the cheapest of its kind:
 *    an instance going BUSY ↔ IDLE (a transition as most of its transitions are, with its
 *    assigns and its report to no parent); the supervisor taking an instance's report into a
 *    fleet of one; the supervisor hearing of an instance not its own (one action, nothing done).
 * 3. Prints one JSON line: events per job, µs per event, and their product for the whole trace
 *    (`--jobs`, default: the replayed window's), scaled by jobs.
 *
 * `node dist/bench/xstate-floor.js --trace FILE [--days N] [--max N] [--jobs N]`
 */
export interface FloorResult {
  trace: string;
  days: number;
  jobs: number;
  events: { instance: number; supervisor_view: number; supervisor_other: number; per_job: number };
  us_per_event: { instance_transition: number; supervisor_view: number; supervisor_other: number };
  /** XState's own time for `jobs_scaled_to` jobs' events, in seconds. */
  floor_s: number;
  jobs_scaled_to: number;
}

const TIMEOUTS: InstanceTimeouts = { launchMs: 300_000, bootMs: 600_000, drainMs: 7_200_000, terminateRetryMs: 120_000 };

/** Microseconds per call of `f`, the best of three rounds of `n` (the first warms the JIT). */
function usPer(n: number, f: (i: number) => void): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) f(i);
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  return best;
}

function eventCosts(n: number): FloorResult['us_per_event'] {
  const adopt = { phase: 'task-running' as const, instanceId: 'i-1', launchedAt: 0, pricePerHour: 0.1, busy: false };
  const instance = createActor(instanceMachine, { input: { key: 'k', pool: 'default', now: 0, timeouts: TIMEOUTS, adopt } }).start();
  const instance_transition = usPer(n, (i) => instance.send({ type: i % 2 ? 'IDLE' : 'BUSY', now: i }));
  if (instance.getSnapshot().status !== 'active') throw new Error('xstate-floor: the instance actor stopped');
  instance.stop();

  const cfg = parseConfig({});
  const supervisor = createActor(supervisorMachine, { input: { now: 0, keyPrefix: 'floor', pools: cfg.pools, planner: cfg.planner, timeouts: TIMEOUTS, goneGraceMs: 120_000 } }).start();
  supervisor.send({ type: 'FLEET', snapshot: { at: 0, instances: [] } });
  const other = usPer(n, (i) => supervisor.send({ type: 'NOTICE', at: i, notice: { kind: 'rebalance', instanceId: 'i-not-ours', sentAt: i } }));
  // A fleet of one, adopted from a describe; its reports alternate between two views of it.
  supervisor.send({
    type: 'FLEET',
    snapshot: {
      at: 1,
      instances: [{ instanceId: 'i-1', key: 'floor-1', pool: 'default', state: 'running', instanceType: 'c5.xlarge', market: 'on-demand', pricePerHour: 0.17, launchedAt: 0, registered: true, agent: 'running', draining: false }],
    },
  });
  const fleet = supervisor.getSnapshot().context.fleet;
  const first = Object.values(fleet)[0];
  if (!first) throw new Error('xstate-floor: the supervisor adopted nothing');
  const views = [
    { ...first, state: 'task-running.busy', phase: 'busy' as const },
    { ...first, state: 'task-running.idle', phase: 'idle' as const },
  ];
  // Sent to the supervisor directly: its child reports the same way, through the system.
  const view = usPer(n, (i) => supervisor.send({ type: 'INSTANCE_VIEW', view: views[i % 2]!, event: i % 2 ? 'IDLE' : 'BUSY' }));
  supervisor.stop();
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return { instance_transition: r2(instance_transition), supervisor_view: r2(view), supervisor_other: r2(other) };
}

export async function xstateFloor(o: { trace: string; days?: number; max?: number; jobs?: number; /** Events timed per kind, per round. */ n?: number }): Promise<FloorResult> {
  const config = parseConfig(o.max === undefined ? {} : { pools: [{ name: 'default', max: o.max }], planner: { maxInstances: o.max, budgetPerHour: o.max } });
  const w = traceWindow(readTrace(o.trace), o.days !== undefined ? { days: o.days } : {});
  const counts = { instance: 0, supervisor_view: 0, supervisor_other: 0 };
  const { report } = await simulate({
    jobs: w.jobs,
    start: w.start,
    end: w.end,
    config,
    world: { seed: 1 },
    onDaemon: (d) => {
      const sup: AnyActorRef = d.supervisor;
      sup.system.inspect({
        next: (ev: InspectionEvent) => {
          if (ev.type !== '@xstate.event') return;
          if (ev.actorRef === sup) {
            if (ev.event.type === 'INSTANCE_VIEW') counts.supervisor_view++;
            else counts.supervisor_other++;
          } else counts.instance++;
        },
      });
    },
  });
  const cost = eventCosts(o.n ?? 100_000);
  const jobs = report.jobs;
  const scaledTo = o.jobs ?? jobs;
  const us = counts.instance * cost.instance_transition + counts.supervisor_view * cost.supervisor_view + counts.supervisor_other * cost.supervisor_other;
  const total = counts.instance + counts.supervisor_view + counts.supervisor_other;
  return {
    trace: o.trace,
    days: report.days,
    jobs,
    events: { ...counts, per_job: Math.round((total / jobs) * 10) / 10 },
    us_per_event: cost,
    floor_s: Math.round(((us / 1e6) * scaledTo) / jobs),
    jobs_scaled_to: scaledTo,
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({ options: { trace: { type: 'string' }, days: { type: 'string' }, max: { type: 'string' }, jobs: { type: 'string' } } });
  if (!values.trace) throw new Error('xstate-floor.js: --trace FILE is required');
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`xstate-floor.js: --${name} must be a positive number, got ${JSON.stringify(v)}`);
    return x;
  };
  const days = num('days', values.days);
  const max = num('max', values.max);
  const jobs = num('jobs', values.jobs);
  const r = await xstateFloor({ trace: values.trace, ...(days !== undefined ? { days } : {}), ...(max !== undefined ? { max } : {}), ...(jobs !== undefined ? { jobs } : {}) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
