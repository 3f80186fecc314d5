import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import { supervisorMachine, type SupervisorEmitted } from '../../machines/supervisor/supervisor.machine.js';
import { checkScenario, type Scenario } from '../../bench/soak/check.js';
import { soakScenario } from '../../bench/soak/scenario.js';

/** Counterexamples the properties found, kept as fixed cases once fixed. */
describe('regressions found by the fleet properties', () => {
  // A restart 20 s after a launch; the new daemon's first describe lagged (eventual
  // consistency) and did not list that instance, so it bought a second one: 2 instances in a
  // pool of max 1, over budget. Fixed: no launch until the describe grace has passed since start.
  const restartAfterLaunch: Scenario = {
    seed: 17637,
    pools: [{ min: 0, max: 1, concurrency: 1 }],
    maxInstances: 1,
    budgetInstances: 1,
    hourly: false,
    warmBuffer: 0,
    drainTimeoutMin: 10,
    jobs: [
      { atMin: 14, minutes: 1, pool: 0 },
      { atMin: 28, minutes: 1, pool: 0 },
    ],
    faults: {
      launchErrorRate: 0.2903980519622565,
      launchErrorCodes: ['CLOUD_CAPACITY'],
      neverRegisterRate: 0,
      agentDeathRate: 0,
      spotPerHour: 0,
      outages: [],
      garbage: [[14, 6]],
      slowQueuePollRate: 0,
      laggingDescribeRate: 0.13780813547782603,
    },
    restartsMin: [29],
  };

  it('a restarted daemon does not buy twice an instance its first describe did not list yet', async () => {
    expect(await checkScenario(restartAfterLaunch)).toEqual([]);
  });

  // Found by the soak (seed 1, scenario 11, shrunk): a launch whose answer never comes — the
  // cloud made the instance, the answer was lost — ends its actor at the command deadline
  // (CLOUD_TIMEOUT), and the next plan launches again before any describe has listed the first
  // one: 2 instances in a pool of max 1, over the fleet max and the budget. While the launch was
  // in flight, describes listed the instance under the actor's key but the supervisor leaves an
  // instance carrying a launching actor's key alone ("its answer says which twin"), and after
  // the timeout nothing counts the launch whose outcome is unknown. Fixed: launches in that pool wait (hold launch-unknown) until a describe could list it.
  const launchAnswerLost: Scenario = {
    seed: 874469,
    pools: [{ min: 0, max: 1, concurrency: 1 }],
    maxInstances: 1,
    budgetInstances: 1,
    hourly: false,
    warmBuffer: 0,
    drainTimeoutMin: 10,
    jobs: [{ atMin: 4, minutes: 1, pool: 0 }],
    faults: {
      launchErrorRate: 0,
      launchErrorCodes: ['CLOUD_LIMIT'],
      neverRegisterRate: 0.05,
      agentDeathRate: 0.05,
      spotPerHour: 0,
      outages: [],
      garbage: [],
      slowQueuePollRate: 0.05,
      laggingDescribeRate: 0.05,
    },
    restartsMin: [],
    more: { duplicateLaunchRate: 0, describeOutages: [[3, 12]], hangRate: 0.08964288863353433, throttles: [[0, 1]], midBuildInterruptionsMin: [], launchIntents: false, replicas: false },
  };

  it('a launch whose answer is lost (command deadline) is not bought again before a describe could list it', async () => {
    expect(await checkScenario(launchAnswerLost)).toEqual([]);
  });

  // Two restarts at one instant: the simulator started two daemons (each restart halted the
  // same old one), halted the second late and told the checker of it, while the first planned on.
  // Fixed: restarts follow each other.
  const twoRestartsAtOnce: Scenario = {
    seed: 1,
    pools: [{ min: 0, max: 1, concurrency: 1 }],
    maxInstances: 1,
    budgetInstances: 1,
    hourly: false,
    warmBuffer: 0,
    drainTimeoutMin: 10,
    jobs: [
      { atMin: 133, minutes: 1, pool: 0 },
      { atMin: 33, minutes: 2, pool: 0 },
    ],
    faults: {
      launchErrorRate: 0.05,
      launchErrorCodes: ['CLOUD_THROTTLED'],
      neverRegisterRate: 0.11801150860264899,
      agentDeathRate: 0,
      spotPerHour: 0.05,
      outages: [[133, 5]],
      garbage: [],
      slowQueuePollRate: 0.05,
      laggingDescribeRate: 0.05,
    },
    restartsMin: [151, 151],
  };

  it('two restarts at one instant leave one daemon, the one the checks read', async () => {
    expect(await checkScenario(twoRestartsAtOnce)).toEqual([]);
  });

  // Found by the 10,000-scenario soak (seed 7), replayed as they were drawn:
  // - a launch whose answer was lost held its own pool, but a launch in another pool bought its
  //   room again (over the fleet max and the budget): a lost launch now counts in every pool;
  // - an hour-old intent of a launch that never answered was sent again at a takeover: a launch
  //   aborted by its deadline now goes stale, and a stale intent is forgotten;
  // - adopted registered long after its launch, its agent started and took a build at once, and
  //   the boot deadline of the launch, long past, drained it: the deadline now runs from the adoption;
  // - a killed replica's actors, still timing out while it halts, were read as the new daemon's.
  it.each([414, 1034, 1058, 1556, 1790, 1814, 2149, 3253, 5262, 5287])('soak seed 7, scenario %i', async (k) => {
    expect(await checkScenario(soakScenario(7, k))).toEqual([]);
  });

  // Soak seed 8, scenario 219: after 20 minutes of throttled describes, a lagging describe
  // answered the list from before the agent started; the drain-waiting instance took it as its
  // agent finished and was terminated under the build it had just taken. Fixed: a describe lags
  // by seconds in the simulator (as EC2 and ECS do), and a stop seen by a look taken before the
  // drain took effect does not end the instance.
  it('soak seed 8, scenario 219', async () => {
    expect(await checkScenario(soakScenario(8, 219))).toEqual([]);
  });

  // Soak seed 9, scenario 1366: the replay stopped when the fleet's total reached the sum of the
  // pools' minimums while one pool still held a surplus (a duplicate-key twin) and another a
  // gap. Fixed: it stops only with every pool at its minimum.
  it('soak seed 9, scenario 1366', async () => {
    expect(await checkScenario(soakScenario(9, 1366))).toEqual([]);
  });

  // Soak seed 9 #1524 and seed 11 #56, #191, #3980, #7768: a drain refused by throttling past
  // its deadline was given up for a terminate, throttled too; the agent, never drained, took a
  // build, and the terminate killed it once the throttle lifted (in #7768 the queue could not be
  // read, so the build was not even seen). Fixed: a drain that never took effect is given up by
  // abandoning, which a build seen on the agent sends back to draining, and while the queue
  // cannot be read such an agent is told a build may run on it.
  // Soak seed 11 #4755: a launch lost to its deadline was judged never made when its grace
  // passed, its room bought again, and after a restart its intent, still recorded, sent again:
  // 2 instances in a pool of max 1. Fixed: the supervisor and the intents judge a lost launch on
  // one proof (a describe started the grace after the call ended), the intent first.
  it.each([
    [9, 1524],
    [11, 56],
    [11, 191],
    [11, 3980],
    [11, 7768],
    [11, 4755],
  ])('soak seed %i, scenario %i', async (seed, k) => {
    expect(await checkScenario(soakScenario(seed, k))).toEqual([]);
  });

  it('the supervisor holds launches, with a reason, until settleMs after its start', () => {
    const T0 = 1_700_000_000_000;
    const cfg = parseConfig({});
    const sup = createActor(supervisorMachine, {
      input: { now: T0, keyPrefix: 'k', pools: cfg.pools, planner: cfg.planner, timeouts: { launchMs: 300_000, bootMs: 600_000, drainMs: 600_000, terminateRetryMs: 120_000 }, goneGraceMs: 120_000, settleMs: 120_000 },
    });
    const out: SupervisorEmitted[] = [];
    sup.on('*', (e) => out.push(e));
    sup.start();
    sup.send({ type: 'FLEET', snapshot: { at: T0, instances: [] } });
    sup.send({ type: 'QUEUE', snapshot: { at: T0, stages: [{ id: 's', status: 'pending', demand: DEFAULT_DEMAND, createdAt: T0 }] } });
    sup.send({ type: 'TICK', now: T0 + 15_000 });
    expect(out.filter((e) => e.type === 'spawned')).toEqual([]);
    expect(out.some((e) => e.type === 'decision' && e.decision.kind === 'hold' && e.decision.code === 'fleet-settling')).toBe(true);
    sup.send({ type: 'TICK', now: T0 + 120_000 });
    expect(out.filter((e) => e.type === 'spawned')).toHaveLength(1);
  });
});
