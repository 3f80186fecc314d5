import { DdaError } from '../domain/errors.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';

/**
 * The lease's fence around the ports: every call that changes something (in the cloud or on
 * the CI server) is refused with LEASE_LOST unless `held()` says the lease is known valid now,
 * by this replica's own clock. Reads (describe, poll, probe) pass: they change nothing. So a
 * replica whose renewal failed stops acting at its deadline, even before its daemon has halted.
 */
export function fenceCloud(cloud: CloudProvider, held: () => boolean): CloudProvider {
  const guard = fenceOf(held);
  return {
    kind: cloud.kind,
    launch: (req, signal) => guard('launch', () => cloud.launch(req, signal)),
    describe: (signal) => cloud.describe(signal),
    startAgent: (id, name, pool, signal) => guard('startAgent', () => cloud.startAgent(id, name, pool, signal)),
    drainAgent: (id, stop, signal) => guard('drainAgent', () => cloud.drainAgent(id, stop, signal)),
    terminate: (id, signal) => guard('terminate', () => cloud.terminate(id, signal)),
    ...(cloud.park ? { park: (id: string, signal?: AbortSignal) => guard('park', () => cloud.park!(id, signal)) } : {}),
    ...(cloud.unpark ? { unpark: (id: string, signal?: AbortSignal) => guard('unpark', () => cloud.unpark!(id, signal)) } : {}),
    ...(cloud.reapOrphans ? { reapOrphans: (signal?: AbortSignal, opts?: Parameters<NonNullable<CloudProvider['reapOrphans']>>[1]) => guard('reapOrphans', () => cloud.reapOrphans!(signal, opts)) } : {}),
  };
}

export function fenceSource(source: QueueSource, held: () => boolean): QueueSource {
  const guard = fenceOf(held);
  return {
    kind: source.kind,
    drainStyle: source.drainStyle,
    probe: (signal) => source.probe(signal),
    poll: (signal) => source.poll(signal),
    drainAgent: (agent, signal) => guard('drainAgent', () => source.drainAgent(agent, signal)),
    forgetAgent: (agent, signal) => guard('forgetAgent', () => source.forgetAgent(agent, signal)),
  };
}

function fenceOf(held: () => boolean) {
  return <T>(action: string, call: () => Promise<T>): Promise<T> =>
    held() ? call() : Promise.reject(new DdaError('LEASE_LOST', `${action} refused: this replica does not hold the lease now`, { action }));
}
