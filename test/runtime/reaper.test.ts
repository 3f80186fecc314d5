import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
import type { CloudProvider, ReapedResource } from '../../src/ports/cloud-provider.js';
import type { QueueSource } from '../../src/ports/queue-source.js';
import { startDaemon } from '../../src/runtime/daemon.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

const S = 1000;
const T0 = Date.UTC(2025, 0, 1);

const ci = (id: string): ReapedResource => ({ kind: 'container-instance', id, reason: 'its EC2 instance is terminated' });
const task = (id: string): ReapedResource => ({ kind: 'task', id, reason: 'no live container instance' });

/**
 * The real daemon on virtual time, with a cloud whose reaper answers round after round from a
 * script: 'hang' never answers (until aborted), an Error fails the round.
 */
async function run(rounds: (ReapedResource[] | 'hang' | Error)[], over: { commandTimeoutSeconds?: number } = {}) {
  const clock = new VirtualClock(T0);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const calls: { at: number; aborted: boolean }[] = [];
  const cloud: CloudProvider = {
    kind: 'fake',
    launch: () => Promise.reject(new DdaError('CLOUD_FAILED', 'not in this test')),
    describe: async () => ({ at: clock.now(), instances: [] }),
    startAgent: async () => {},
    drainAgent: async () => {},
    terminate: async () => {},
    reapOrphans(signal) {
      const call = { at: clock.now(), aborted: false };
      calls.push(call);
      const r = rounds[calls.length - 1] ?? [];
      if (r === 'hang')
        return new Promise((_, reject) =>
          signal?.addEventListener('abort', () => {
            call.aborted = true;
            reject(new Error('aborted'));
          }),
        );
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
  };
  const source: QueueSource = { kind: 'ci', drainStyle: 'signal', probe: async () => {}, poll: async () => ({ at: clock.now(), stages: [] }), drainAgent: async () => {}, forgetAgent: async () => {} };
  const config = parseConfig({ runtime: { reapSeconds: 60, commandTimeoutSeconds: over.commandTimeoutSeconds ?? 120 } });
  const daemon = startDaemon({ config, source, cloud, clock, logger });
  await clock.runUntil(T0 + (rounds.length - 1) * 60 * S + S);
  await daemon.halt();
  const reaped = lines.filter((l) => l.msg === 'reaped orphan').map((l) => [l.kind, l.id]);
  return { calls, reaped, lines };
}

describe('reaper', () => {
  it('logs each reaped orphan once, however many rounds still list it', async () => {
    const r = await run([[], [ci('ci-1'), task('t-1')], [ci('ci-1')], [ci('ci-1'), task('t-2')], [task('t-2')], []]);
    expect(r.calls.map((c) => (c.at - T0) / S)).toEqual([0, 60, 120, 180, 240, 300]);
    expect(r.reaped).toEqual([
      ['container-instance', 'ci-1'],
      ['task', 't-1'],
      ['task', 't-2'],
    ]);
  });

  it('a failed round reports nothing and forgets nothing', async () => {
    const r = await run([[ci('ci-1')], new DdaError('CLOUD_UNAVAILABLE', 'ListContainerInstances: 503'), [ci('ci-1'), ci('ci-2')]]);
    expect(r.reaped).toEqual([
      ['container-instance', 'ci-1'],
      ['container-instance', 'ci-2'],
    ]);
    expect(r.lines.filter((l) => l.msg === 'reaping orphans failed; will try again')).toHaveLength(1);
  });

  it('a round the cloud never answers is aborted at the command deadline, and the next round runs', async () => {
    const r = await run(['hang', [ci('ci-1')]], { commandTimeoutSeconds: 30 });
    expect(r.calls.map((c) => [(c.at - T0) / S, c.aborted])).toEqual([
      [0, true],
      [60, false],
    ]);
    const failed = r.lines.find((l) => l.msg === 'reaping orphans failed; will try again');
    expect(failed?.err).toBe('CLOUD_TIMEOUT: fake: reaping orphans did not finish within 30 s');
    expect(r.reaped).toEqual([['container-instance', 'ci-1']]);
  });
});
