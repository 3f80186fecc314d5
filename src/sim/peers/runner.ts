import type { Billing } from '../../planner/types.js';
import type { PoolSpec } from '../../domain/pool.js';
import { VirtualClock } from '../../runtime/virtual-clock.js';
import { SimWorld, type SimWorldOptions } from '../sim-world.js';
import type { TraceJob } from '../trace.js';
import type { Actions, Observation, Policy } from './types.js';

export interface PolicyRunOptions {
  policy: Policy;
  jobs: readonly TraceJob[];
  start: number;
  end: number;
  pool: PoolSpec;
  billing: Billing;
  seed: number;
  pricePerHour: number;
  /** Called after every simulated instant (the bench samples the world here). */
  onStep?: (world: SimWorld, now: number) => void;
  /** How often the ECS-like agent starter looks for registered instances while some boot. */
  agentCheckMs?: number;
  /** Cloud timing overrides (a fixed boot time for hand-checked tests; the config's simulated cloud for the replay's summary); default SimWorld's. */
  world?: Pick<SimWorldOptions, 'vmStartSeconds' | 'bootstrapSeconds' | 'agentStartSeconds' | 'terminateSeconds' | 'stopSeconds' | 'warmStartSeconds' | 'reconnectSeconds'>;
}

/**
 * Run a peer policy on the same simulated CI server and cloud our daemon runs against
 * (SimWorld on a VirtualClock): it polls the queue and the fleet through the ports, applies
 * its launches, drains and terminations, and an agent starts on each instance once it
 * registers. A policy with `onJobEvent` is also told, at the same instant, when a job starts
 * or ends.
 * Ends like `simulate`: after the window, when every job is done and the fleet is at the
 * policy's floor, or a day after the last arrival.
 */
export async function runPolicy(o: PolicyRunOptions): Promise<SimWorld> {
  const clock = new VirtualClock(o.start);
  const world = new SimWorld({ clock, pools: [o.pool], billing: o.billing, seed: o.seed, pricePerHour: o.pricePerHour, ...o.world });
  world.load(o.jobs);
  const checkMs = o.agentCheckMs ?? 5_000;
  let starterArmed = false;

  const startAgents = async (): Promise<void> => {
    starterArmed = false;
    const f = await world.cloud.describe();
    let booting = false;
    for (const i of f.instances) {
      if (i.state === 'pending' || (i.state === 'running' && !i.registered)) booting = true;
      else if (i.state === 'running' && i.registered && i.agent === 'none') await world.cloud.startAgent(i.instanceId, i.instanceId, o.pool.name);
    }
    if (booting) armStarter();
  };
  const armStarter = () => {
    if (starterArmed) return;
    starterArmed = true;
    clock.setTimeout(() => void startAgents(), checkMs);
  };

  const observe = async (): Promise<Observation> => {
    const now = clock.now();
    const q = await world.source.poll();
    const f = await world.cloud.describe();
    const fleet = f.instances.filter((i) => i.state === 'pending' || i.state === 'running');
    const busy = new Map<string, number>();
    let pending = 0;
    let running = 0;
    for (const s of q.stages) {
      if (s.agent) busy.set(s.agent, (busy.get(s.agent) ?? 0) + 1);
      if (s.status === 'pending' && !s.agent) pending++;
      else running++;
    }
    return { now, pending, running, stages: q.stages, fleet, busy };
  };
  const apply = async (a: Actions): Promise<void> => {
    const now = clock.now();
    for (const id of a.drain ?? []) await world.cloud.drainAgent(id, false);
    for (const id of a.terminate ?? []) await world.cloud.terminate(id);
    for (let n = 0; n < (a.launch ?? 0); n++) {
      await world.cloud.launch({ key: `${o.policy.name}-${now}-${n}`, pool: o.pool.name, demand: o.pool.demand, concurrency: o.pool.concurrency });
    }
    if ((a.launch ?? 0) > 0) armStarter();
  };

  const step = async (): Promise<void> => {
    await apply(o.policy.step(await observe()));
    clock.setTimeout(() => void step(), o.policy.periodMs);
  };
  clock.setTimeout(() => void step(), 0);

  // Job events, for a policy that listens to them: after an instant in which a job started,
  // ended or was killed, the hook runs at the same virtual time (a zero-delay timer), so what it
  // terminates stops billing the moment the job ended. Policies without the hook get no extra
  // instants.
  const onJobEvent = o.policy.onJobEvent?.bind(o.policy);
  let lastJobs = '';
  const jobsChanged = (): boolean => {
    const s = world.stats;
    const sig = `${s.completed}/${s.killed}/${s.waitsMs.length}/${world.queueDepth.running}`;
    if (sig === lastJobs) return false;
    lastJobs = sig;
    return true;
  };

  const lastArrival = o.jobs.reduce((m, j) => Math.max(m, j.createdAt), o.start);
  const hardEnd = Math.max(o.end, lastArrival) + 86_400_000;
  await clock.runUntil(hardEnd, () => {
    const now = clock.now();
    o.onStep?.(world, now);
    if (onJobEvent && jobsChanged()) clock.setTimeout(() => void observe().then((obs) => apply(onJobEvent(obs))), 0);
    return now >= o.end && world.allJobsDone && world.liveInstances <= o.policy.floor;
  });
  world.finish();
  return world;
}
