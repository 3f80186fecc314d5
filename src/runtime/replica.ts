import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../domain/clock.js';
import { DdaError, describeError } from '../domain/errors.js';
import { actUntil, contend, defaultMarginMs, retryAfter, takeoverBoundMs, type LeaseTiming, type Sighting } from '../domain/lease.js';
import type { LeaseRecord, LeaseStore } from '../ports/lease.js';
import type { CommandInFlight } from './interpreter.js';
import { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
import { fenceCloud, fenceSource } from './fence.js';
import { intentTimings, LaunchIntents } from './launch-intents.js';

/**
 * One daemon of several replicas sharing an identity: it runs the daemon only while it holds
 * the lease (src/ports/lease.ts), and stands by otherwise.
 *
 * - Standby: no daemon, so no poll and no command. It reads the lease every renewal period,
 *   logs who holds it (once per holder), and takes it once the holder has been silent for a
 *   lease duration as it watched: at most duration + renewal period after the last renewal.
 * - Active: renews every period; acts (its cloud and CI calls pass the fence) only until its
 *   last successful renewal's start + duration − margin, by its own clock. A renewal that
 *   fails extends nothing: it is retried until then, and then the daemon halts. A renewal
 *   refused because another replica's write came first halts it at once.
 * - Halting leaves the fleet as it is (as `halt()` does) for the next holder to adopt; then it
 *   stands by again.
 * - On taking the lease, the launch intents the last holder left are settled first
 *   (launch-intents.ts); then the daemon starts with no settling hold.
 */
export interface ReplicaLease {
  store: LeaseStore;
  /** This replica's id in the lease: unique per process (holderId()). */
  holder: string;
  durationMs: number;
  renewMs: number;
  /** Default: half a renewal period, at most a sixth of the lease (defaultMarginMs). */
  marginMs?: number;
}

export interface ReplicaOptions extends DaemonOptions {
  lease: ReplicaLease;
  /** Starts the daemon of a holder (tests wrap it); default startDaemon. */
  startDaemon?: (o: DaemonOptions) => Daemon;
}

export type ReplicaRole = 'active' | 'standby';

/** What /readyz and the status page say about the lease. */
export interface LeaseState {
  role: ReplicaRole;
  /** This replica. */
  holder: string;
  /** Who holds the lease as last seen: this replica when active; null when unknown or free. */
  heldBy: string | null;
  /** Active: until when it acts unless renewed; standby: when it takes over at the latest if the holder stops renewing (ms epoch, own clock). */
  until: number | null;
  store: string;
}

export interface Replica {
  readonly role: ReplicaRole;
  /** The running daemon while active (and once its start-up is done); undefined on standby. */
  readonly daemon: Daemon | undefined;
  lease(): LeaseState;
  /** Drain the fleet (if active), then release the lease. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Leave the fleet for the next holder and stop; `release: false` leaves the lease to expire, as a crash would. */
  halt(opts?: { release?: boolean }): Promise<void>;
  leftBehind(): { instances: number; commands: CommandInFlight[] };
}

/** A holder id: the daemon identity, the host, the process, and a random part (a restart is a new holder). */
export function holderId(daemonId: string): string {
  return `${daemonId}@${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
}

export function startReplica(o: ReplicaOptions): Replica {
  const { clock, config } = o;
  const { store, holder: me } = o.lease;
  const t: LeaseTiming = { durationMs: o.lease.durationMs, renewMs: o.lease.renewMs, marginMs: o.lease.marginMs ?? defaultMarginMs(o.lease.durationMs, o.lease.renewMs) };
  const log = o.logger.child({ name: 'runtime.replica' });
  const launch = o.startDaemon ?? startDaemon;
  const iso = (ms: number) => new Date(ms).toISOString();

  let role: ReplicaRole = 'standby';
  /** Our version while active. */
  let version: string | null = null;
  let validUntil = 0;
  let sighting: Sighting | null = null;
  let seen: { heldBy: string | null; until: number | null } = { heldBy: null, until: null };
  /** The holder the standby last logged, so it logs once per holder. */
  let logged: string | null = null;
  let storeFailures = 0;
  let daemon: Daemon | undefined;
  let activation: Promise<void> = Promise.resolve();
  /** Bumped at every change of role: a start-up that finds it changed gives up. */
  let term = 0;
  let closed = false;
  let timer: unknown = null;
  let fenceTimer: unknown = null;
  let chain: Promise<void> = Promise.resolve();

  const held = () => role === 'active' && clock.now() < validUntil;

  /** Lease steps run one at a time. */
  const run = (what: string, fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((e: unknown) => log.error({ step: what, err: describeError(e) }, 'replica step failed'));
    return chain;
  };
  const schedule = (ms: number) => {
    if (closed) return;
    if (timer !== null) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = null;
      void run('lease', step);
    }, Math.max(0, ms));
  };
  const armFence = () => {
    if (fenceTimer !== null) clock.clearTimeout(fenceTimer);
    fenceTimer = clock.setTimeout(() => {
      fenceTimer = null;
      if (role === 'active' && clock.now() >= validUntil) {
        void run('fence', async () => {
          if (role !== 'active' || clock.now() < validUntil) return;
          log.warn({ actedUntil: iso(validUntil) }, 'lease not renewed in time: halting this daemon and standing by (the fleet is left for the next holder)');
          await stepDown();
          schedule(0);
        });
      }
    }, Math.max(0, validUntil - clock.now()));
  };

  /** One store call, abandoned after `ms` (the answer, if any, is ignored). */
  function bounded<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
    const ac = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const h = clock.setTimeout(() => {
        ac.abort();
        reject(new DdaError('LEASE_UNAVAILABLE', `${store.kind} lease store: no answer within ${Math.round(ms)} ms`));
      }, ms);
      fn(ac.signal).then(
        (v) => {
          clock.clearTimeout(h);
          resolve(v);
        },
        (e: unknown) => {
          clock.clearTimeout(h);
          reject(e);
        },
      );
    });
  }

  const nextRecord = (now: number): LeaseRecord => ({ holder: me, version: randomUUID(), expiresAt: now + t.durationMs, durationMs: t.durationMs });

  async function step(): Promise<void> {
    if (closed) return;
    if (role === 'standby') await contendStep();
    else await renewStep();
  }

  async function contendStep(): Promise<void> {
    let rec: LeaseRecord | null;
    try {
      rec = await bounded((s) => store.read(s), t.renewMs);
      storeFailures = 0;
    } catch (e) {
      if (++storeFailures === 1 || storeFailures % 30 === 0) log.warn({ store: store.kind, err: describeError(e), failures: storeFailures }, 'standby: the lease store cannot be read; nothing is done until it can');
      schedule(t.renewMs);
      return;
    }
    const now = clock.now();
    const c = contend(rec, me, sighting, now);
    if (!c.take) {
      sighting = c.sighting;
      seen = { heldBy: c.heldBy, until: c.takeoverAt };
      if (logged !== c.heldBy) {
        logged = c.heldBy;
        log.info(
          { heldBy: c.heldBy, leaseUntil: iso(rec!.expiresAt), takeoverAt: iso(c.takeoverAt), takeoverBoundSeconds: takeoverBoundMs(t) / 1000 },
          `standby: the lease is held by ${c.heldBy} until ${iso(rec!.expiresAt)}; taking over if it is not renewed by ${iso(c.takeoverAt)}`,
        );
      }
      schedule(Math.min(t.renewMs, c.takeoverAt - now));
      return;
    }
    const startedAt = clock.now();
    const next = nextRecord(startedAt);
    let ok: boolean;
    try {
      ok = await bounded((s) => store.swap(rec?.version ?? null, next, s), t.renewMs);
    } catch (e) {
      log.warn({ store: store.kind, err: describeError(e) }, 'standby: could not take the lease; trying again');
      schedule(t.renewMs);
      return;
    }
    if (!ok) {
      // Another replica's write came first: read again, soon.
      schedule(Math.min(1000, t.renewMs));
      return;
    }
    role = 'active';
    version = next.version;
    validUntil = actUntil(startedAt, t);
    sighting = null;
    logged = null;
    const myTerm = ++term;
    armFence();
    log.info({ why: c.why, previousHolder: rec?.holder || null, actsUntil: iso(validUntil) }, 'lease taken: this replica is active');
    activation = becomeActive(myTerm);
    schedule(t.renewMs - (clock.now() - startedAt));
  }

  async function renewStep(): Promise<void> {
    const startedAt = clock.now();
    const next = nextRecord(startedAt);
    let ok: boolean;
    try {
      ok = await bounded((s) => store.swap(version, next, s), Math.max(1, Math.min(t.renewMs, validUntil - startedAt)));
      // A write whose answer was lost, then refused on retry, may still be ours.
      if (!ok) ok = (await bounded((s) => store.read(s), Math.max(1, Math.min(t.renewMs, validUntil - clock.now()))))?.version === next.version;
    } catch (e) {
      const now = clock.now();
      if (now >= validUntil) return; // the fence halts it
      log.warn({ store: store.kind, err: describeError(e), actsUntil: iso(validUntil) }, 'lease renewal failed; the lease is not extended, retrying');
      schedule(retryAfter(now, validUntil, t));
      return;
    }
    if (!ok) {
      log.warn({}, 'lease lost: another replica holds it; halting this daemon and standing by (the fleet is left for it to adopt)');
      await stepDown();
      schedule(0);
      return;
    }
    version = next.version;
    validUntil = actUntil(startedAt, t);
    armFence();
    schedule(t.renewMs - (clock.now() - startedAt));
  }

  /** Settle the last holder's launch intents, then run the daemon behind the fence. */
  async function becomeActive(myTerm: number): Promise<void> {
    const intents = new LaunchIntents(fenceCloud(o.cloud, held), { store, holder: me, clock, logger: o.logger, ...intentTimings(config) });
    // The store and the cloud may not answer: past the command deadline the daemon starts
    // anyway, with the settling hold, rather than leave the fleet unmanaged.
    const complete = await intents.recoverWithin(config.pools, config.runtime.commandTimeoutSeconds * 1000);
    if (myTerm !== term || closed) return;
    daemon = launch({ ...o, cloud: intents.cloud, source: fenceSource(o.source, held), ...(complete ? { settleMs: 0 } : {}) });
    log.info({ settleSeconds: complete ? 0 : config.lifecycle.goneGraceSeconds }, complete ? 'daemon started as the active replica; no settling hold (launch intents accounted for)' : 'daemon started as the active replica; launches held for the settling grace');
  }

  async function stepDown(): Promise<void> {
    role = 'standby';
    version = null;
    term++;
    seen = { heldBy: null, until: null };
    if (fenceTimer !== null) clock.clearTimeout(fenceTimer);
    fenceTimer = null;
    await activation;
    const d = daemon;
    daemon = undefined;
    await d?.halt();
  }

  async function close(leave: (d: Daemon) => Promise<void>, release: boolean): Promise<void> {
    closed = true;
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    await chain;
    await activation;
    const d = daemon;
    if (d) await leave(d);
    const mine = role === 'active' ? version : null;
    role = 'standby';
    term++;
    if (fenceTimer !== null) clock.clearTimeout(fenceTimer);
    if (release && mine !== null) {
      const now = clock.now();
      try {
        await bounded((s) => store.swap(mine, { holder: '', version: randomUUID(), expiresAt: now, durationMs: t.durationMs }, s), t.renewMs);
        log.info({}, 'lease released');
      } catch (e) {
        log.warn({ err: describeError(e) }, 'lease not released; a standby takes over when it expires');
      }
    }
  }

  schedule(0);

  return {
    get role() {
      return role;
    },
    get daemon() {
      return daemon;
    },
    lease: () => (role === 'active' ? { role, holder: me, heldBy: me, until: validUntil, store: store.kind } : { role, holder: me, heldBy: seen.heldBy, until: seen.until, store: store.kind }),
    stop: (opts = {}) => close((d) => d.stop(opts), true),
    halt: (opts = {}) => close((d) => d.halt(), opts.release ?? true),
    leftBehind: () => daemon?.leftBehind() ?? { instances: 0, commands: [] },
  };
}
