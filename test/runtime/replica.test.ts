import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { startDaemon, type Daemon } from '../../src/runtime/daemon.js';
import { startReplica, type Replica } from '../../src/runtime/replica.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { MemoryLeaseStore } from '../../src/sim/lease-store.js';
import { SimWorld } from '../../src/sim/sim-world.js';

/**
 * Two replicas of one daemon in one process, sharing an in-memory lease store and one
 * simulated fleet, on virtual time: one acts, the other stands by, and a takeover comes within
 * the bound. Every start and halt of a daemon is recorded to check that two never run at once.
 */
const T0 = Date.UTC(2025, 0, 1);
const D = 30_000;
const P = 10_000;

function setup() {
  const clock = new VirtualClock(T0);
  const config = parseConfig({ pools: [{ name: 'default', max: 3, concurrency: 1 }], runtime: { daemonId: 'r' } });
  const world = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing, ...config.simulatedCloud });
  world.load([0, 1, 2, 3].map((n) => ({ id: `j${n}`, createdAt: T0 + 60_000 + n * 1000, durationMs: 20 * 60_000, demand: config.pools[0]!.demand } as never)));
  const store = new MemoryLeaseStore();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const running = new Set<string>();
  let overlap = 0;
  const replica = (holder: string): Replica =>
    startReplica({
      config,
      source: world.source,
      cloud: world.cloud,
      clock,
      logger: logger.child({ holder }),
      abortablePolls: false,
      lease: { store, holder, durationMs: D, renewMs: P },
      startDaemon: (o) => {
        running.add(holder);
        if (running.size > 1) overlap++;
        const d: Daemon = startDaemon(o);
        const halt = d.halt.bind(d);
        return Object.assign(d, {
          halt: async () => {
            await halt();
            running.delete(holder);
          },
        });
      },
    });
  return { clock, world, store, lines, replica, running, overlaps: () => overlap };
}

describe('two replicas, one lease', () => {
  it('started together they act as one; the standby logs once who holds the lease; killing the active one hands over within duration + period', async () => {
    const s = setup();
    const a = s.replica('a');
    const b = s.replica('b');
    await s.clock.runUntil(T0 + 5 * 60_000);
    expect([a.role, b.role].sort()).toEqual(['active', 'standby']);
    const [active, standby] = a.role === 'active' ? [a, b] : [b, a];
    expect(s.running.size).toBe(1);
    // The jobs were served, by one daemon, within the pool's max.
    expect(s.world.stats.launches).toBeGreaterThan(0);
    expect(s.world.stats.peakInstances).toBeLessThanOrEqual(3);
    const standbyLines = s.lines.filter((l) => String(l.msg).startsWith('standby: the lease is held by'));
    expect(standbyLines).toHaveLength(1);
    expect(standby.lease()).toMatchObject({ role: 'standby', heldBy: active.lease().holder });

    // Killed: no release, no more renewals.
    await active.halt({ release: false });
    const killedAt = s.clock.now();
    await s.clock.runUntil(killedAt + D + P, () => standby.role === 'active');
    const takeoverMs = s.clock.now() - killedAt;
    expect(standby.role).toBe('active');
    expect(takeoverMs).toBeLessThanOrEqual(D + P);
    expect(takeoverMs).toBeGreaterThanOrEqual(D - P);
    await s.clock.runUntil(s.clock.now() + 60_000);
    expect(s.overlaps()).toBe(0);
    // The new holder adopted the fleet: nothing bought twice.
    expect(s.world.stats.peakInstances).toBeLessThanOrEqual(3);
    await standby.halt();
  });

  it('a released lease is taken within one renewal period', async () => {
    const s = setup();
    const a = s.replica('a');
    await s.clock.runUntil(T0 + 1000);
    const b = s.replica('b');
    await s.clock.runUntil(T0 + 2000);
    expect(a.role).toBe('active');
    await a.halt();
    const at = s.clock.now();
    await s.clock.runUntil(at + P, () => b.role === 'active');
    expect(b.role).toBe('active');
    expect(s.clock.now() - at).toBeLessThanOrEqual(P);
    await b.halt();
  });

  it('a holder whose renewals fail stops acting a margin before its lease could pass, and stands by', async () => {
    const s = setup();
    const a = s.replica('a');
    await s.clock.runUntil(T0 + 1000);
    expect(a.role).toBe('active');
    const b = s.replica('b');
    await s.clock.runUntil(T0 + 2000);
    const lastWrite = T0; // a's acquire
    s.store.unavailable = true;
    await s.clock.runUntil(T0 + D, () => a.role === 'standby');
    // Halted by the fence a margin (5 s) before its lease could be taken.
    expect(a.role).toBe('standby');
    expect(s.clock.now()).toBeLessThanOrEqual(lastWrite + D - 5000 + P);
    expect(a.daemon).toBeUndefined();
    expect(s.lines.some((l) => String(l.msg).startsWith('lease not renewed in time') || String(l.msg).startsWith('lease renewal failed'))).toBe(true);
    s.store.unavailable = false;
    await s.clock.runUntil(s.clock.now() + D + 2 * P, () => a.role === 'active' || b.role === 'active');
    expect([a.role, b.role]).toContain('active');
    expect(s.overlaps()).toBe(0);
    await a.halt();
    await b.halt();
  });

  it('a new holder whose launch intents never come back starts its daemon at the command deadline, with the settling hold', async () => {
    const s = setup();
    s.store.intents = () => new Promise(() => {});
    const a = s.replica('a');
    await s.clock.runUntil(T0 + 5000);
    expect(a.role).toBe('active');
    expect(a.daemon).toBeUndefined();
    await s.clock.runUntil(T0 + 125_000, () => a.daemon !== undefined);
    expect(a.daemon).toBeDefined();
    expect(s.clock.now() - T0).toBeGreaterThanOrEqual(120_000);
    expect(s.lines.some((l) => l.msg === 'launch intents not settled by the command deadline: starting with the settling hold')).toBe(true);
    expect(s.lines.some((l) => l.msg === 'daemon started as the active replica; launches held for the settling grace')).toBe(true);
    await a.halt();
  });
});
