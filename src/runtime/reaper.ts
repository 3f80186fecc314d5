import { catchError, defer, EMPTY, exhaustMap, filter, finalize, from, map, of, throwError, timeout, timer, type Observable } from 'rxjs';
import { DdaError, describeError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider, ReapedResource } from '../ports/cloud-provider.js';
import type { StreamDeps } from './streams.js';

/**
 * Leftovers no instance owns (a container instance whose machine is gone, a task on no
 * container instance): reaped at start, then every `reapSeconds`, each round under the
 * command deadline. Emits what was reaped for the first time: a resource the cloud still
 * lists after it was reaped (eventual consistency, a deregistration that did not take) is
 * reaped again but not reported again.
 */
export function reaper$(cloud: CloudProvider, d: StreamDeps): Observable<ReapedResource[]> {
  const reap = cloud.reapOrphans?.bind(cloud);
  if (!reap) return EMPTY;
  const { rt, log } = d;
  const deadlineMs = rt.commandTimeoutSeconds * 1000;
  return timer(0, rt.reapSeconds * 1000, d.scheduler).pipe(
    exhaustMap(() =>
      defer(() => {
        const ac = new AbortController();
        return from(reap(ac.signal, { maxShare: rt.reapMaxShare })).pipe(
          timeout({ first: deadlineMs, scheduler: d.scheduler, with: () => throwError(() => new DdaError('CLOUD_TIMEOUT', `${cloud.kind}: reaping orphans did not finish within ${rt.commandTimeoutSeconds} s`)) }),
          finalize(() => ac.abort()),
        );
      }).pipe(
        catchError((e: unknown) => {
          log.warn({ cloud: cloud.kind, err: describeError(e) }, 'reaping orphans failed; will try again');
          return of(null);
        }),
      ),
    ),
    reportedOnce(),
  );
}

/**
 * Passes on, from each round, only what the previous successful round did not reap. A failed
 * round (null) reports nothing and forgets nothing.
 */
export function reportedOnce(): (rounds: Observable<ReapedResource[] | null>) => Observable<ReapedResource[]> {
  return (rounds) => {
    let last = new Set<string>();
    return rounds.pipe(
      filter((r): r is ReapedResource[] => r !== null),
      map((reaped) => {
        const ids = (r: ReapedResource) => `${r.kind}/${r.id}`;
        const fresh = reaped.filter((r) => !last.has(ids(r)));
        last = new Set(reaped.map(ids));
        return fresh;
      }),
    );
  };
}

export function logReaped(log: Logger): (reaped: ReapedResource[]) => void {
  return (reaped) => {
    for (const r of reaped) log.info({ kind: r.kind, id: r.id, reason: r.reason }, 'reaped orphan');
  };
}
