import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import type { ObservedInstance } from '../../src/ports/cloud-provider.js';
import { restartInterruptedBuilds, type RestartReason } from '../../src/runtime/build-restarts.js';
import { createDroneSource } from '../../src/sources/drone/drone-source.js';
import { fleetOf } from '../../machines/supervisor/selectors.js';
import { supervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import { FakeDrone } from '../sources/fake-drone.js';
import { obs, S, T0 } from '../helpers/fleet.js';

/**
 * Builds killed by the infrastructure are restarted once, through a Drone server on loopback
 * (test/sources/fake-drone.ts records the restarts); a build on an agent we drained is not.
 * The supervisor is the real one, driven by the observations a daemon would feed it.
 */

const TOKEN = 'restart-test-token-0b9e';
let drone: FakeDrone | undefined;
afterEach(async () => {
  await drone?.close();
  drone = undefined;
});

async function setup() {
  drone = await FakeDrone.start({ token: TOKEN, now: () => T0 / 1000 });
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const source = createDroneSource({ server: drone.url, token: TOKEN, timeoutMs: 5000, clock: systemClock, logger });
  const cfg = parseConfig({ pools: [{ name: 'default', max: 3 }], planner: { idleGraceSeconds: 60 } });
  const sup = createActor(supervisorMachine, {
    input: { now: T0, keyPrefix: 't', pools: cfg.pools, planner: cfg.planner, timeouts: { launchMs: 300 * S, bootMs: 600 * S, drainMs: 3600 * S, terminateRetryMs: 120 * S }, goneGraceMs: 120 * S },
  });
  const counted: [string, RestartReason][] = [];
  const restarts = restartInterruptedBuilds(sup, { source: { kind: source.kind, restartBuild: source.restartBuild!.bind(source) }, logger, timeoutMs: 5000, onRestart: (s, r) => counted.push([s, r]) });
  sup.start();
  const queue = async (at: number) => sup.send({ type: 'QUEUE', snapshot: { at, stages: (await source.poll()).stages } });
  const fleet = (at: number, instances: ObservedInstance[]) => sup.send({ type: 'FLEET', snapshot: { at, instances } });
  const phase = (id: string) => fleetOf(sup.getSnapshot()).find((v) => v.instanceId === id)?.phase;
  return { d: drone, sup, restarts, counted, lines, queue, fleet, phase };
}

describe('restarting builds killed by the infrastructure', () => {
  it('restarts a build on an interrupted instance exactly once, and counts it', async () => {
    const t = await setup();
    const stage = t.d.addStage({ build_id: 42 });
    t.d.setBuild(42, { namespace: 'octocat', name: 'hello-world', number: 7 });
    t.d.startStage(stage, 'i-0000000a');
    await t.queue(T0);
    t.fleet(T0, [obs({ instanceId: 'i-0000000a', key: 'k-a' })]);
    expect(t.phase('i-0000000a')).toBe('busy');

    // The warning arrives through the interruption queue; describe sees the same a little later.
    const notice = { kind: 'spot-interruption' as const, instanceId: 'i-0000000a', sentAt: T0 + 1 * S };
    t.restarts.noticed(notice);
    t.sup.send({ type: 'NOTICE', at: T0 + 2 * S, notice });
    expect(t.phase('i-0000000a')).toBe('draining');
    t.sup.send({ type: 'NOTICE', at: T0 + 3 * S, notice });
    t.fleet(T0 + 5 * S, [obs({ instanceId: 'i-0000000a', key: 'k-a', interruptionAt: T0 + S })]);
    await t.queue(T0 + 6 * S);
    // Two minutes later the instance is gone; the stage still shows on the dead runner.
    t.fleet(T0 + 125 * S, [obs({ instanceId: 'i-0000000a', key: 'k-a', state: 'terminated' })]);
    await t.restarts.idle();
    expect(t.d.restarts).toEqual(['octocat/hello-world#7']);
    expect(t.counted).toEqual([['drone', 'spot-interruption']]);
    const line = t.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'build restarted: its agent was taken by the infrastructure');
    expect(line).toMatchObject({ build: 'octocat/hello-world#7', reason: 'spot-interruption', instance: 'i-0000000a', source: 'drone' });
    expect(t.lines.join('')).not.toContain(TOKEN);

    // Another instance taken with the same build on it: the build is not restarted again.
    t.d.startStage(t.d.addStage({ build_id: 42 }), 'i-0000000b');
    await t.queue(T0 + 130 * S);
    t.fleet(T0 + 130 * S, [obs({ instanceId: 'i-0000000b', key: 'k-b' })]);
    t.fleet(T0 + 400 * S, []);
    await t.restarts.idle();
    expect(t.phase('i-0000000b')).toBeUndefined();
    expect(t.d.restarts).toEqual(['octocat/hello-world#7']);
    t.sup.stop();
  });

  it('leaves alone a build that finished during the warning', async () => {
    const t = await setup();
    const stage = t.d.addStage({ build_id: 9 });
    t.d.startStage(stage, 'i-0000000c');
    await t.queue(T0);
    t.fleet(T0, [obs({ instanceId: 'i-0000000c', key: 'k-c' })]);
    t.fleet(T0 + 5 * S, [obs({ instanceId: 'i-0000000c', key: 'k-c', interruptionAt: T0 + S })]);
    expect(t.phase('i-0000000c')).toBe('draining');
    t.d.finishStage(stage);
    await t.queue(T0 + 60 * S);
    t.fleet(T0 + 125 * S, [obs({ instanceId: 'i-0000000c', key: 'k-c', state: 'terminated' })]);
    await t.restarts.idle();
    expect(t.d.restarts).toEqual([]);
    expect(t.counted).toEqual([]);
    t.sup.stop();
  });

  it('does not restart a build on an agent we drained', async () => {
    const t = await setup();
    t.fleet(T0, [obs({ instanceId: 'i-0000000d', key: 'k-d' })]);
    await t.queue(T0);
    expect(t.phase('i-0000000d')).toBe('idle');
    // Stopping: the idle agent is drained by our choice; a stage lands on it in the race.
    t.sup.send({ type: 'STOP', now: T0 + 10 * S });
    expect(t.phase('i-0000000d')).toBe('draining');
    t.d.startStage(t.d.addStage({ build_id: 5 }), 'i-0000000d');
    await t.queue(T0 + 11 * S);
    t.fleet(T0 + 60 * S, [obs({ instanceId: 'i-0000000d', key: 'k-d', state: 'terminated' })]);
    await t.restarts.idle();
    expect(t.phase('i-0000000d')).toBeUndefined();
    expect(t.d.restarts).toEqual([]);
    t.sup.stop();
  });
});
