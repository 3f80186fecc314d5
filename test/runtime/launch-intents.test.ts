import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
import type { CloudProvider } from '../../src/ports/cloud-provider.js';
import { LaunchIntents } from '../../src/runtime/launch-intents.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { MemoryLeaseStore } from '../../src/sim/lease-store.js';
import { SimWorld } from '../../src/sim/sim-world.js';

const T0 = Date.UTC(2025, 0, 1);
const HOLDER = 'h';

async function setup() {
  const clock = new VirtualClock(T0);
  const config = parseConfig({ pools: [{ name: 'default', max: 3 }] });
  const world = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing, ...config.simulatedCloud });
  const store = new MemoryLeaseStore();
  await store.swap(null, { holder: HOLDER, version: 'v', expiresAt: T0 + 30_000, durationMs: 30_000 });
  /** A describe that does not list these keys yet (eventual consistency). */
  const hidden = new Set<string>();
  const lagging: CloudProvider = { ...world.cloud, describe: async () => ({ ...(await world.cloud.describe()), instances: (await world.cloud.describe()).instances.filter((i) => !hidden.has(i.key)) }) };
  const intents = () => new LaunchIntents(lagging, { store, holder: HOLDER, clock, logger: pino({ level: 'silent' }), staleMs: 420_000, goneGraceMs: 120_000, callTimeoutMs: 120_000 });
  return { clock, config, world, store, hidden, intents };
}

describe('launch intents', () => {
  it('record before the launch, cleared once a describe lists the instance', async () => {
    const s = await setup();
    const li = s.intents();
    const pool = s.config.pools[0]!;
    await li.cloud.launch({ key: 'k1', pool: 'default', demand: pool.demand, concurrency: 1 });
    expect(await s.store.intents()).toMatchObject([{ key: 'k1', pool: 'default', attempt: { clientToken: 'k1' } }]);
    expect(s.store.writes.map((w) => w.op)).toEqual(['swap', 'put', 'put']);
    await li.cloud.describe();
    await li.flushed();
    expect(await s.store.intents()).toEqual([]);
  });

  it('a launch refused for capacity is cleared at once; one the lease no longer allows is never sent', async () => {
    const s = await setup();
    const pool = s.config.pools[0]!;
    const full: CloudProvider = { ...s.world.cloud, launch: async () => Promise.reject(new DdaError('CLOUD_CAPACITY', 'no room')) };
    const li = new LaunchIntents(full, { store: s.store, holder: HOLDER, clock: s.clock, logger: pino({ level: 'silent' }), staleMs: 1, goneGraceMs: 1, callTimeoutMs: 1 });
    await expect(li.cloud.launch({ key: 'k1', pool: 'default', demand: pool.demand, concurrency: 1 })).rejects.toThrow('no room');
    await li.flushed();
    expect(await s.store.intents()).toEqual([]);
    const other = new LaunchIntents(s.world.cloud, { store: s.store, holder: 'someone-else', clock: s.clock, logger: pino({ level: 'silent' }), staleMs: 1, goneGraceMs: 1, callTimeoutMs: 1 });
    await expect(other.cloud.launch({ key: 'k2', pool: 'default', demand: pool.demand, concurrency: 1 })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(s.world.stats.launches).toBe(0);
  });

  it('a new holder: listed → adopted; never sent → cleared; sent but not listed → sent again with its token, the same instance, counted until listed', async () => {
    const s = await setup();
    const pool = s.config.pools[0]!;
    const old = s.intents();
    await old.cloud.launch({ key: 'listed', pool: 'default', demand: pool.demand, concurrency: 1 });
    const { instanceId } = await old.cloud.launch({ key: 'unlisted', pool: 'default', demand: pool.demand, concurrency: 1 });
    await s.store.putIntent(HOLDER, { key: 'unsent', pool: 'default', at: T0 });
    s.hidden.add('unlisted');
    expect(s.world.stats.launches).toBe(2);

    const next = s.intents();
    expect(await next.recover(s.config.pools)).toBe(true);
    await next.flushed();
    // Nothing bought twice: the repeated request answered the first instance.
    expect(s.world.stats.launches).toBe(2);
    expect((await s.store.intents()).map((i) => i.key)).toEqual(['unlisted']);
    const seen = (await next.cloud.describe()).instances.find((i) => i.key === 'unlisted');
    expect(seen).toMatchObject({ instanceId, state: 'pending' });
    // Listed at last: the intent goes.
    s.hidden.clear();
    await next.cloud.describe();
    await next.flushed();
    expect(await s.store.intents()).toEqual([]);
  });

  it('a launch that never answered is forgotten once a describe started the grace after its deadline lists nothing, aborted or not; a new holder never sends a stale intent again', async () => {
    const s = await setup();
    const pool = s.config.pools[0]!;
    // The request is lost on the way: the cloud never acts, and no answer ever comes.
    const lost: CloudProvider = { ...s.world.cloud, launch: (req) => (req.onAttempt?.({ clientToken: req.key, detail: {} }), new Promise(() => {})) };
    const old = new LaunchIntents(lost, { store: s.store, holder: HOLDER, clock: s.clock, logger: pino({ level: 'silent' }), staleMs: 420_000, goneGraceMs: 120_000, callTimeoutMs: 120_000 });
    const keys = async () => (await s.store.intents()).map((i) => i.key).sort();
    const ac = new AbortController();
    void old.cloud.launch({ key: 'hung', pool: 'default', demand: pool.demand, concurrency: 1 }, ac.signal);
    // A call the daemon cannot abort (no signal): only its deadline ends it.
    void old.cloud.launch({ key: 'unabortable', pool: 'default', demand: pool.demand, concurrency: 1 });
    await new Promise((r) => setImmediate(r));
    expect(await keys()).toEqual(['hung', 'unabortable']);
    // Within the deadline and the grace after it (the supervisor's lost-launch hold): kept.
    const describeAt = async (ms: number) => {
      await s.clock.runUntil(T0 + ms);
      await old.cloud.describe();
      await old.flushed();
      return keys();
    };
    await s.clock.runUntil(T0 + 60_000);
    ac.abort();
    expect(await describeAt(179_000)).toEqual(['hung', 'unabortable']);
    // Aborted at 60 s: a describe from 180 s proves it made nothing. The other is over at its deadline (120 s): from 240 s.
    expect(await describeAt(180_000)).toEqual(['unabortable']);
    expect(await describeAt(239_000)).toEqual(['unabortable']);
    expect(await describeAt(240_000)).toEqual([]);

    // Left in the store by a holder that died (a put with an attempt, an hour ago): forgotten, not sent again.
    await s.store.putIntent(HOLDER, { key: 'old', pool: 'default', at: s.clock.now(), attempt: { clientToken: 'old', detail: {} } });
    await s.clock.runUntil(s.clock.now() + 3_600_000);
    const next = s.intents();
    expect(await next.recover(s.config.pools)).toBe(true);
    await next.flushed();
    expect(s.world.stats.launches).toBe(0);
    expect(await s.store.intents()).toEqual([]);
  });

  it('a new launch is recorded only once the forgetting of a lost one is written (a holder dying in between must not leave both)', async () => {
    const s = await setup();
    const pool = s.config.pools[0]!;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const clear = s.store.clearIntent.bind(s.store);
    s.store.clearIntent = async (holder, key) => (await gate, clear(holder, key));
    const lost: CloudProvider = { ...s.world.cloud, launch: (req) => (req.onAttempt?.({ clientToken: req.key, detail: {} }), new Promise(() => {})) };
    const li = new LaunchIntents(lost, { store: s.store, holder: HOLDER, clock: s.clock, logger: pino({ level: 'silent' }), staleMs: 420_000, goneGraceMs: 120_000, callTimeoutMs: 120_000 });
    void li.cloud.launch({ key: 'lost', pool: 'default', demand: pool.demand, concurrency: 1 });
    await s.clock.runUntil(s.clock.now() + 240_000);
    await li.cloud.describe();
    const replacement = li.cloud.launch({ key: 'replacement', pool: 'default', demand: pool.demand, concurrency: 1 });
    await new Promise((r) => setImmediate(r));
    expect(s.store.writes.filter((w) => w.op !== 'swap').map((w) => `${w.op} ${w.detail}`)).toEqual(['put lost', 'put lost']);
    open();
    void replacement.catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    expect(s.store.writes.filter((w) => w.op !== 'swap').map((w) => `${w.op} ${w.detail}`).slice(2, 4)).toEqual(['clear lost', 'put replacement']);
  });

  it('intents that cannot be read: not settled (the caller keeps the settling hold)', async () => {
    const s = await setup();
    s.store.unavailable = true;
    expect(await s.intents().recover(s.config.pools)).toBe(false);
  });
});
