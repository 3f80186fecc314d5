import type { Decision, HoldCode, InstanceView } from './types.js';

/** Decision constructors: every rule says what it decides the same way. */

export function launch(pool: string, count: number, reason: string): Decision {
  return { kind: 'launch', pool, count, reason };
}

export function drain(i: InstanceView, reason: string): Decision {
  return { kind: 'drain', pool: i.pool, key: i.key, reason };
}

export function renew(i: InstanceView, until: number, reason: string): Decision {
  return { kind: 'renew', pool: i.pool, key: i.key, until, reason };
}

export function hold(pool: string, code: HoldCode, reason: string): Decision {
  return { kind: 'hold', pool, code, reason };
}

/** Whether an instance may be let go at once: an idle agent, or a boot nothing can run on yet. */
export function releasable(i: InstanceView): boolean {
  return i.phase === 'idle' || (i.phase === 'booting' && i.cancellable);
}
