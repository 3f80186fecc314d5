import type { Config, PoolConfig } from '../config/config.js';
import { within, type Clock } from '../domain/clock.js';
import { warmSpotOf } from '../domain/pool.js';
import { describeError, isDdaError, type ErrorCode } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider, FleetSnapshot, LaunchRequest, LaunchResult, ObservedInstance } from '../ports/cloud-provider.js';
import type { LaunchIntent, LeaseStore } from '../ports/lease.js';

/**
 * Launch intents: what lets a new daemon start planning at once instead of holding every
 * launch while "the fleet settles". A describe may omit an instance launched just before the
 * last daemon stopped; so every launch is recorded in the lease store before the cloud is
 * asked (with the request's idempotency token, before each request), and forgotten once a
 * describe lists the instance or the launch failed for good. A new holder reads what is left:
 * - listed by its key tag: the supervisor adopts it, the intent goes;
 * - never sent: nothing to find, the intent goes;
 * - sent, not listed: the same request is sent again with the same token (EC2 answers with
 *   the instance the first one made, or makes it if the first never arrived); until a
 *   describe lists it, the fleet this daemon sees includes it, so the planner counts it.
 * The tag lookup comes first because not every endpoint honours the token (moto does not).
 * A launch whose answer was lost is forgotten on the same proof the supervisor uses to buy its
 * room again: a describe started the consistency grace after the call ended, not listing it.
 * Forgotten first, so a holder that dies after the replacement was bought never sends the lost
 * launch again, and a new launch is recorded only once the forgetting is written.
 */

/** Errors after which the cloud made no instance: the intent can go. Anything else (timeouts, 5xx, aborts) may have made one. */
const FAILED_FOR_GOOD = new Set<ErrorCode>(['CLOUD_CAPACITY', 'CLOUD_LIMIT', 'CLOUD_THROTTLED', 'CLOUD_FAILED', 'CLOUD_NOT_FOUND', 'CONFIG_INVALID', 'LEASE_LOST', 'LEASE_UNAVAILABLE']);
const failedForGood = (e: unknown) => isDdaError(e) && FAILED_FOR_GOOD.has(e.code);

export interface LaunchIntentsOptions {
  store: LeaseStore;
  /** This replica's holder id: intents are written only while it holds the lease. */
  holder: string;
  clock: Clock;
  logger: Logger;
  /**
   * An intent never listed this long after it was recorded is forgotten (the describe's
   * consistency grace plus a launch's deadline: by then an instance it made would be listed).
   */
  staleMs: number;
  /** How long a re-sent launch is shown in the fleet while a describe does not list it. */
  goneGraceMs: number;
  /**
   * The command deadline: a launch call not answered by then is over for the daemon (it reports
   * the launch failed), whether or not the call was aborted, and is judged lost from then on.
   */
  callTimeoutMs: number;
}

/** The times the intents keep, from the daemon's settings (the same the supervisor judges launches by). */
export function intentTimings(config: Pick<Config, 'lifecycle' | 'runtime'>): Pick<LaunchIntentsOptions, 'staleMs' | 'goneGraceMs' | 'callTimeoutMs'> {
  const lc = config.lifecycle;
  return {
    staleMs: (lc.launchTimeoutSeconds + lc.goneGraceSeconds) * 1000,
    goneGraceMs: lc.goneGraceSeconds * 1000,
    callTimeoutMs: config.runtime.commandTimeoutSeconds * 1000,
  };
}

/** A re-sent launch's instance, until a describe lists it. */
interface Recovered {
  result: LaunchResult;
  intent: LaunchIntent;
  since: number;
}

export class LaunchIntents {
  /** The provider the daemon uses: launches recorded, the fleet completed with re-sent launches. */
  readonly cloud: CloudProvider;
  private readonly open = new Map<string, LaunchIntent>();
  private readonly inFlight = new Set<string>();
  /** When each launch call of this holder ended: answered, failed, aborted, or past its deadline (whichever came first). */
  private readonly endedBy = new Map<string, number>();
  private readonly recovered = new Map<string, Recovered>();
  private readonly log: Logger;
  /** Clears run one after another, in the background: a describe never waits on the store. */
  private clearing: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: CloudProvider,
    private readonly o: LaunchIntentsOptions,
  ) {
    this.log = o.logger.child({ name: 'runtime.launch-intents' });
    // Every other call goes to the provider as it is.
    this.cloud = {
      kind: inner.kind,
      launch: (req, signal) => this.launch(req, signal),
      describe: (signal) => this.describe(signal),
      startAgent: (id, name, pool, signal) => inner.startAgent(id, name, pool, signal),
      drainAgent: (id, stop, signal) => inner.drainAgent(id, stop, signal),
      terminate: (id, signal) => inner.terminate(id, signal),
      ...(inner.park ? { park: (id: string, signal?: AbortSignal) => inner.park!(id, signal) } : {}),
      ...(inner.unpark ? { unpark: (id: string, signal?: AbortSignal) => inner.unpark!(id, signal) } : {}),
      ...(inner.reapOrphans ? { reapOrphans: (signal?: AbortSignal, opts?: Parameters<NonNullable<CloudProvider['reapOrphans']>>[1]) => inner.reapOrphans!(signal, opts) } : {}),
    };
  }

  /** Intents still open (recorded, not yet listed nor failed for good). */
  get outstanding(): number {
    return this.open.size;
  }

  /**
   * `recover`, bounded: the store and the cloud may not answer, and the fleet must not stay
   * unmanaged meanwhile. Past `deadlineMs` (on the injected clock) the call is aborted and the
   * answer is false: the caller starts with the settling hold.
   */
  async recoverWithin(pools: readonly PoolConfig[], deadlineMs: number): Promise<boolean> {
    const ac = new AbortController();
    return within(this.o.clock, this.recover(pools, ac.signal), deadlineMs, false, () => {
      this.log.warn({ deadlineSeconds: deadlineMs / 1000 }, 'launch intents not settled by the command deadline: starting with the settling hold');
      ac.abort();
    });
  }

  /**
   * At the start of a holder, before any planning: settle what the last holder left. True when
   * every intent is accounted for (no hold is needed); false when one could not be (the store
   * or the cloud did not answer): the caller then holds launches as without intents.
   */
  async recover(pools: readonly PoolConfig[], signal?: AbortSignal): Promise<boolean> {
    let intents: LaunchIntent[];
    let listed: Set<string>;
    try {
      intents = await this.o.store.intents(signal);
      if (intents.length === 0) return true;
      listed = new Set((await this.inner.describe(signal)).instances.map((i) => i.key));
    } catch (e) {
      this.log.warn({ err: describeError(e) }, 'launch intents could not be read: holding launches for the settling grace');
      return false;
    }
    let complete = true;
    for (const intent of intents) {
      const pool = pools.find((p) => p.name === intent.pool);
      const facts = { key: intent.key, pool: intent.pool, recordedAt: new Date(intent.at).toISOString() };
      if (listed.has(intent.key)) {
        this.log.info(facts, 'launch intent: instance found by its key tag (adopted)');
        this.clear(intent.key);
      } else if (this.o.clock.now() - intent.at >= this.o.staleMs) {
        // Past its deadline and the describe's grace, an instance it made would be listed: it
        // made none, and sending it again now would buy for a need long gone.
        this.log.info(facts, 'launch intent: never listed; forgotten');
        this.clear(intent.key);
      } else if (!intent.attempt) {
        this.log.info(facts, 'launch intent: the request was never sent (nothing to find)');
        this.clear(intent.key);
      } else if (!pool) {
        this.log.warn(facts, 'launch intent: its pool is no longer configured; the instance, if any, is adopted when listed');
        this.clear(intent.key);
      } else {
        try {
          const result = await this.inner.launch({ key: intent.key, pool: intent.pool, demand: pool.demand, concurrency: pool.concurrency, ...(intent.purpose ? { purpose: intent.purpose } : {}), ...(intent.purpose === 'park' ? warmSpotOf(pool) : {}), repeat: intent.attempt }, signal);
          this.open.set(intent.key, intent);
          this.endedBy.set(intent.key, this.o.clock.now());
          this.recovered.set(intent.key, { result, intent, since: this.o.clock.now() });
          this.log.info({ ...facts, instanceId: result.instanceId, clientToken: intent.attempt.clientToken }, 'launch intent: request in flight at the last stop sent again with its ClientToken');
        } catch (e) {
          if (failedForGood(e)) {
            this.log.info({ ...facts, err: describeError(e) }, 'launch intent: the repeated request failed; no instance was made');
            this.clear(intent.key);
          } else {
            complete = false;
            this.open.set(intent.key, intent);
            this.endedBy.set(intent.key, this.o.clock.now());
            this.log.warn({ ...facts, err: describeError(e) }, 'launch intent: the repeated request did not answer; holding launches for the settling grace');
          }
        }
      }
    }
    return complete;
  }

  /** Let background clears finish (tests, shutdown). */
  async flushed(): Promise<void> {
    await this.clearing;
  }

  private async launch(req: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
    // A launch lost earlier and since proven never made must be gone from the store before this
    // one (often its replacement) is recorded: a holder dying in between must not send both.
    await settledOrAborted(this.clearing, signal);
    const base: LaunchIntent = { key: req.key, pool: req.pool, ...(req.purpose ? { purpose: req.purpose } : {}), at: this.o.clock.now() };
    // Nothing is asked of the cloud before it is recorded, and only by the lease's holder.
    await this.o.store.putIntent(this.o.holder, base, signal);
    this.open.set(req.key, base);
    this.inFlight.add(req.key);
    this.endedBy.set(req.key, base.at + this.o.callTimeoutMs);
    // Past its deadline the launch is over for the daemon even if the call never settles: the
    // intent may then be forgotten like any other.
    signal?.addEventListener('abort', () => this.ended(req.key), { once: true });
    const outer = req.onAttempt;
    try {
      return await this.inner.launch(
        {
          ...req,
          onAttempt: async (attempt) => {
            const intent = { ...base, attempt };
            await this.o.store.putIntent(this.o.holder, intent, signal);
            this.open.set(req.key, intent);
            await outer?.(attempt);
          },
        },
        signal,
      );
    } catch (e) {
      if (failedForGood(e)) this.clear(req.key);
      throw e;
    } finally {
      this.ended(req.key);
    }
  }

  private ended(key: string): void {
    // Once, and only for an intent still open: one refused for good is already cleared.
    if (!this.inFlight.delete(key) || !this.open.has(key)) return;
    this.endedBy.set(key, Math.min(this.endedBy.get(key) ?? Infinity, this.o.clock.now()));
  }

  private async describe(signal?: AbortSignal): Promise<FleetSnapshot> {
    // The listing is at least as fresh as the call's start: the proof is dated from it.
    const startedAt = this.o.clock.now();
    const snap = await this.inner.describe(signal);
    if (this.open.size === 0) return snap;
    const now = this.o.clock.now();
    const listed = new Set(snap.instances.map((i) => i.key));
    const extra: ObservedInstance[] = [];
    for (const [key, intent] of this.open) {
      if (listed.has(key)) {
        this.recovered.delete(key);
        this.clear(key);
        continue;
      }
      const r = this.recovered.get(key);
      if (r && now - r.since < this.o.goneGraceMs) {
        extra.push(pendingInstance(r));
        continue;
      }
      // A call never answered (it hangs, unaborted) is over at its deadline, as for the supervisor.
      const ended = this.endedBy.get(key);
      const lost = ended !== undefined && startedAt - ended >= this.o.goneGraceMs;
      if (lost || (!this.inFlight.has(key) && now - intent.at >= this.o.staleMs)) {
        this.recovered.delete(key);
        this.log.info({ key, pool: intent.pool }, 'launch intent: never listed; forgotten');
        this.clear(key);
      }
    }
    return extra.length === 0 ? snap : { ...snap, instances: [...snap.instances, ...extra] };
  }

  private clear(key: string): void {
    this.open.delete(key);
    this.endedBy.delete(key);
    this.clearing = this.clearing.then(() =>
      this.o.store.clearIntent(this.o.holder, key).catch((e: unknown) => {
        // Left in the store: the next holder finds the instance by its tag, or forgets it as stale.
        this.log.warn({ key, err: describeError(e) }, 'launch intent could not be cleared');
      }),
    );
  }
}

/** `p` settled, or the call given up (its deadline passed) first: then the launch is not sent at all. */
async function settledOrAborted(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
  try {
    await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A re-sent launch's instance as a describe would show it right after the launch. */
function pendingInstance(r: Recovered): ObservedInstance {
  return {
    instanceId: r.result.instanceId,
    key: r.intent.key,
    pool: r.intent.pool,
    state: 'pending',
    instanceType: r.result.instanceType,
    market: r.result.market,
    pricePerHour: r.result.pricePerHour,
    launchedAt: r.result.launchedAt,
    registered: false,
    agent: 'none',
    draining: false,
    ...(r.intent.purpose === 'park' ? { priming: true } : {}),
  };
}
