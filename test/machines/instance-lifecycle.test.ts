import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { AdoptFacts, InstanceCommand, InstanceEvent } from '../../machines/instance/events.js';
import { instanceMachine, stateLabel } from '../../machines/instance/instance.machine.js';

const T0 = 1_700_000_000_000;
const S = 1000;
const timeouts = { launchMs: 300 * S, bootMs: 600 * S, drainMs: 3600 * S, terminateRetryMs: 120 * S };

function drive(adopt?: AdoptFacts) {
  const commands: InstanceCommand[] = [];
  const actor = createActor(instanceMachine, { input: { key: 'k1', pool: 'default', now: T0, timeouts, ...(adopt ? { adopt } : {}) } });
  actor.on('*', (c) => commands.push(c));
  actor.start();
  const send = (...events: InstanceEvent[]) => {
    for (const e of events) actor.send(e);
    return stateLabel(actor.getSnapshot().value);
  };
  return { actor, commands, send, path: () => stateLabel(actor.getSnapshot().value), types: () => commands.map((c) => c.type) };
}

const launched = (now = T0 + S): InstanceEvent => ({ type: 'LAUNCHED', now, instanceId: 'i-1', launchedAt: now, pricePerHour: 0.17 });

describe('instance lifecycle: the happy path', () => {
  it('requested → booting → task-running → draining → terminated, one command per step', () => {
    const d = drive();
    expect(d.path()).toBe('requested.launching');
    expect(d.types()).toEqual(['launch']);
    expect(d.send(launched())).toBe('booting.instance');
    expect(d.send({ type: 'REGISTERED', now: T0 + 90 * S })).toBe('booting.agent');
    expect(d.commands.at(-1)).toEqual({ type: 'startAgent', key: 'k1', pool: 'default', instanceId: 'i-1' });
    expect(d.send({ type: 'AGENT_RUNNING', now: T0 + 100 * S })).toBe('task-running.idle');
    expect(d.send({ type: 'BUSY', now: T0 + 110 * S })).toBe('task-running.busy');
    expect(d.send({ type: 'IDLE', now: T0 + 2000 * S })).toBe('task-running.idle');
    expect(d.actor.getSnapshot().context.idleSince).toBe(T0 + 2000 * S);
    expect(d.send({ type: 'DRAIN', now: T0 + 2200 * S, reason: 'idle and not needed' })).toBe('draining.stopping');
    expect(d.types()).toEqual(['launch', 'startAgent', 'drainAgent']);
    expect(d.send({ type: 'DRAIN_STARTED', now: T0 + 2201 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'AGENT_STOPPED', now: T0 + 2230 * S })).toBe('draining.terminating');
    expect(d.types()).toEqual(['launch', 'startAgent', 'drainAgent', 'terminate']);
    expect(d.send({ type: 'INSTANCE_GONE', now: T0 + 2240 * S })).toBe('terminated');
    expect(d.actor.getSnapshot().status).toBe('done');
  });
});

describe('instance lifecycle: a running build is never stopped by a decision', () => {
  it('a busy agent ignores DRAIN', () => {
    const d = drive();
    d.send(launched(), { type: 'REGISTERED', now: T0 + 60 * S }, { type: 'AGENT_RUNNING', now: T0 + 70 * S }, { type: 'BUSY', now: T0 + 80 * S });
    expect(d.send({ type: 'DRAIN', now: T0 + 90 * S, reason: 'planner bug' })).toBe('task-running.busy');
    expect(d.types()).not.toContain('drainAgent');
  });

  it('the queue may show the agent busy before the cloud shows it running', () => {
    const d = drive();
    d.send(launched(), { type: 'REGISTERED', now: T0 + 60 * S }, { type: 'BUSY', now: T0 + 65 * S });
    expect(d.send({ type: 'AGENT_RUNNING', now: T0 + 70 * S })).toBe('task-running.busy');
  });

  it('an IDLE observed before the drain took effect does not end the instance', () => {
    const d = drive();
    d.send(launched(), { type: 'REGISTERED', now: T0 + 60 * S }, { type: 'AGENT_RUNNING', now: T0 + 70 * S });
    d.send({ type: 'DRAIN', now: T0 + 500 * S, reason: 'x' }, { type: 'DRAIN_STARTED', now: T0 + 510 * S });
    expect(d.send({ type: 'IDLE', now: T0 + 505 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'BUSY', now: T0 + 515 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'IDLE', now: T0 + 900 * S })).toBe('draining.terminating');
  });

  it('an agent seen stopped by a look taken before the drain took effect is not taken as finished', () => {
    const d = drive();
    d.send(launched(), { type: 'REGISTERED', now: T0 + 60 * S });
    d.send({ type: 'TICK', now: T0 + 601 * S }, { type: 'DRAIN_STARTED', now: T0 + 900 * S });
    expect(d.path()).toBe('draining.waiting');
    expect(d.send({ type: 'AGENT_STOPPED', now: T0 + 899 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'AGENT_STOPPED', now: T0 + 900 * S })).toBe('draining.terminating');
  });
});

describe('instance lifecycle: failure paths', () => {
  it('launch failure ends it with the reason, nothing to terminate', () => {
    const d = drive();
    expect(d.send({ type: 'LAUNCH_FAILED', now: T0 + S, reason: 'CLOUD_CAPACITY: InsufficientInstanceCapacity' })).toBe('terminated');
    expect(d.actor.getSnapshot().context.reason).toContain('InsufficientInstanceCapacity');
    expect(d.types()).toEqual(['launch']);
  });

  it('launch deadline', () => {
    const d = drive();
    expect(d.send({ type: 'TICK', now: T0 + 299 * S })).toBe('requested.launching');
    expect(d.send({ type: 'TICK', now: T0 + 300 * S })).toBe('terminated');
    expect(d.actor.getSnapshot().context.reason).toBe('launch deadline passed');
  });

  it('boot deadline: drained and terminated', () => {
    const d = drive();
    d.send(launched(T0));
    expect(d.send({ type: 'TICK', now: T0 + 599 * S })).toBe('booting.instance');
    expect(d.send({ type: 'TICK', now: T0 + 600 * S })).toBe('draining.stopping');
    expect(d.actor.getSnapshot().context.reason).toBe('boot deadline passed');
  });

  it('drain deadline: terminated even if the agent never stops', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 + 60 * S }, { type: 'AGENT_RUNNING', now: T0 + 70 * S });
    d.send({ type: 'DRAIN', now: T0 + 100 * S, reason: 'x' }, { type: 'DRAIN_STARTED', now: T0 + 100 * S }, { type: 'BUSY', now: T0 + 200 * S });
    expect(d.send({ type: 'TICK', now: T0 + 3699 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'TICK', now: T0 + 3700 * S })).toBe('draining.terminating');
    expect(d.actor.getSnapshot().context.reason).toBe('drain deadline passed');
  });

  it('a drain that never took effect is given up by abandoning: a build seen meanwhile sends it back to draining', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'DRAIN', now: T0 + S, reason: 'x' });
    d.send({ type: 'DRAIN_FAILED', now: T0 + 2 * S, reason: 'CLOUD_THROTTLED' });
    expect(d.send({ type: 'TICK', now: T0 + 3601 * S })).toBe('draining.abandoning');
    expect(d.actor.getSnapshot().context.reason).toBe('drain deadline passed before the drain took effect');
    expect(d.types().at(-1)).toBe('terminate');
    // The terminate is throttled too; the agent, never drained, takes a build.
    d.send({ type: 'TERMINATE_FAILED', now: T0 + 3602 * S, reason: 'CLOUD_THROTTLED' });
    expect(d.send({ type: 'BUSY', now: T0 + 3610 * S })).toBe('draining.stopping');
    expect(d.actor.getSnapshot().context.reason).toBe('a build started on the agent before its drain took effect: draining it again');
    expect(d.types().at(-1)).toBe('drainAgent');
    // Its build runs out its time: no deadline ends a busy agent whose drain has not taken effect.
    expect(d.send({ type: 'TICK', now: T0 + 9000 * S })).toBe('draining.stopping');
    expect(d.send({ type: 'DRAIN_STARTED', now: T0 + 9001 * S })).toBe('draining.waiting');
    expect(d.send({ type: 'IDLE', now: T0 + 9100 * S })).toBe('draining.terminating');
  });

  it('a build only possibly on the agent (the queue cannot be read) keeps its drain from being given up', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'DRAIN', now: T0 + S, reason: 'x' });
    d.send({ type: 'DRAIN_FAILED', now: T0 + 2 * S, reason: 'CLOUD_THROTTLED' }, { type: 'TICK', now: T0 + 3601 * S });
    expect(d.send({ type: 'BUSY', now: T0 + 3602 * S, reason: 'the CI queue cannot be read: a build may run on the agent' })).toBe('draining.stopping');
    expect(d.actor.getSnapshot().context.reason).toBe('the CI queue cannot be read: a build may run on the agent before its drain took effect: draining it again');
    expect(d.send({ type: 'DRAIN_FAILED', now: T0 + 3603 * S, reason: 'CLOUD_THROTTLED' }, { type: 'TICK', now: T0 + 99_999 * S })).toBe('draining.stopping');
    // The queue reads again and shows the agent idle: now it may be given up.
    d.send({ type: 'IDLE', now: T0 + 100_000 * S });
    expect(d.send({ type: 'DRAIN_FAILED', now: T0 + 100_001 * S, reason: 'CLOUD_THROTTLED' }, { type: 'TICK', now: T0 + 100_002 * S })).toBe('draining.abandoning');
  });

  it('an instance the infrastructure is taking (forced), busy, whose drain never took effect: no deadline of ours ends its build', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'BUSY', now: T0 }, { type: 'SPOT_INTERRUPTION', now: T0 + S, reason: 'forced: spot rebalance recommendation' });
    d.send({ type: 'DRAIN_FAILED', now: T0 + 2 * S, reason: 'CLOUD_THROTTLED' });
    expect(d.send({ type: 'TICK', now: T0 + 9000 * S })).toBe('draining.stopping');
    expect(d.types()).not.toContain('terminate');
    d.send({ type: 'IDLE', now: T0 + 9001 * S }, { type: 'DRAIN_FAILED', now: T0 + 9002 * S, reason: 'CLOUD_THROTTLED' });
    expect(d.send({ type: 'TICK', now: T0 + 9003 * S })).toBe('draining.abandoning');
  });

  it('a failed drain is retried on the next tick', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'DRAIN', now: T0 + S, reason: 'x' });
    expect(d.send({ type: 'DRAIN_FAILED', now: T0 + 2 * S, reason: 'CLOUD_THROTTLED' })).toBe('draining.retrying');
    expect(d.send({ type: 'TICK', now: T0 + 15 * S })).toBe('draining.stopping');
    expect(d.types().filter((t) => t === 'drainAgent')).toHaveLength(2);
  });

  it('a terminate that does not take effect is re-issued', () => {
    const d = drive();
    d.send(launched(T0), { type: 'TICK', now: T0 + 600 * S }, { type: 'DRAIN_STARTED', now: T0 + 601 * S }, { type: 'AGENT_STOPPED', now: T0 + 602 * S });
    expect(d.path()).toBe('draining.terminating');
    d.send({ type: 'TERMINATE_FAILED', now: T0 + 603 * S, reason: 'CLOUD_UNAVAILABLE' }, { type: 'TICK', now: T0 + 800 * S });
    expect(d.types().filter((t) => t === 'terminate')).toHaveLength(2);
  });

  it('the agent dying moves a running instance to draining, marked forced', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'BUSY', now: T0 });
    expect(d.send({ type: 'AGENT_STOPPED', now: T0 + 50 * S })).toBe('draining.stopping');
    expect(d.actor.getSnapshot().context).toMatchObject({ forced: true, reason: 'agent stopped' });
  });

  it('an instance that vanishes ends the actor, marked forced', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 });
    expect(d.send({ type: 'INSTANCE_GONE', now: T0 + 50 * S })).toBe('terminated');
    expect(d.actor.getSnapshot().context.forced).toBe(true);
  });

  it('a spot interruption forces a drain even of a busy agent, and says so', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 }, { type: 'AGENT_RUNNING', now: T0 }, { type: 'BUSY', now: T0 });
    expect(d.send({ type: 'SPOT_INTERRUPTION', now: T0 + 50 * S })).toBe('draining.stopping');
    expect(d.actor.getSnapshot().context).toMatchObject({ forced: true, reason: 'forced: spot interruption' });
  });

  it('an agent that fails to start leads to draining', () => {
    const d = drive();
    d.send(launched(T0), { type: 'REGISTERED', now: T0 });
    expect(d.send({ type: 'AGENT_START_FAILED', now: T0 + S, reason: 'CLOUD_FAILED: no container instance' })).toBe('draining.stopping');
  });
});

describe('instance lifecycle: adoption enters where the cloud says', () => {
  const base = { instanceId: 'i-9', launchedAt: T0 - 3600 * S, pricePerHour: 0.17, busy: false };
  it.each([
    ['booting', 'booting.instance'],
    ['registered', 'booting.agent'],
    ['agent-pending', 'booting.agentPending'],
    ['task-running', 'task-running.idle'],
    ['draining', 'draining.waiting'],
    ['terminating', 'draining.terminating'],
  ] as const)('%s → %s, without launching again', (phase, path) => {
    const d = drive({ ...base, phase });
    expect(d.path()).toBe(path);
    expect(d.types()).not.toContain('launch');
  });

  it('a busy adopted agent stays busy', () => {
    expect(drive({ ...base, phase: 'task-running', busy: true }).path()).toBe('task-running.busy');
  });

  it('an adopted booting instance keeps the boot deadline of its launch', () => {
    const d = drive({ ...base, phase: 'booting' });
    expect(d.send({ type: 'TICK', now: T0 })).toBe('draining.stopping');
  });

  it.each([
    ['registered', 'booting.agent'],
    ['agent-pending', 'booting.agentPending'],
  ] as const)('adopted %s long after its launch: its agent starts only now, so the boot deadline runs from the adoption', (phase, path) => {
    const d = drive({ ...base, phase });
    expect(d.send({ type: 'TICK', now: T0 + S })).toBe(path);
    expect(d.send({ type: 'TICK', now: T0 + 600 * S })).toBe('draining.stopping');
  });
});

describe('instance lifecycle: warm spot', () => {
  const base = { instanceId: 'i-9', launchedAt: T0 - 3600 * S, pricePerHour: 0.05, busy: false };
  it('an interruption heard while parked (EC2 stopped a stopped spot instance) leaves it parked: no build on it, nothing to drain', () => {
    const d = drive({ ...base, phase: 'parked' });
    const before = d.path();
    expect(d.send({ type: 'SPOT_INTERRUPTION', now: T0 + S, reason: 'forced: spot interruption warning' })).toBe(before);
    expect(d.types()).toEqual([]);
  });

  it('an interruption of one started from parked and at work drains it like any spot instance (then terminate cancels its request)', () => {
    const d = drive({ ...base, phase: 'task-running', busy: true });
    expect(d.send({ type: 'SPOT_INTERRUPTION', now: T0 + S })).toMatch(/^draining/);
  });
});
