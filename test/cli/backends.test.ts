import { afterEach, describe, expect, it } from 'vitest';
import { resolveBackends } from '../../src/cli/backends.js';
import { loadEnvironment } from '../../src/cli/settings.js';
import { parseConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { FakeDrone } from '../sources/fake-drone.js';
import { memoryLogger, rejection } from '../sources/helpers.js';

/**
 * The composition root builds the queue source with the per-request deadline of
 * DDA_CI_REQUEST_TIMEOUT; runtime.pollTimeoutSeconds bounds a whole poll in the runtime and does
 * not replace it (docs/configuration.md).
 */
describe('resolveBackends: DDA_CI_REQUEST_TIMEOUT', () => {
  let drone: FakeDrone | undefined;
  afterEach(async () => drone?.close());

  async function sourceFor(requestTimeout: string, pollTimeoutSeconds: number) {
    drone = await FakeDrone.start({ token: 'tok' });
    drone.addStage({ id: 1 });
    const env = { DRONE_SERVER_PROTO: 'http', DRONE_SERVER_HOST: new URL(drone.url).host, DRONE_SERVER_TOKEN: 'tok', DRONE_RPC_SECRET_REF: '/ci/drone/rpc', DDA_CI_REQUEST_TIMEOUT: requestTimeout };
    const config = parseConfig({ runtime: { pollTimeoutSeconds } });
    const backends = await resolveBackends(loadEnvironment(env, config), config, { clock: systemClock, logger: memoryLogger().logger });
    return backends!.source;
  }

  it('a short request timeout gives up on a slow server, however long the poll may take', async () => {
    const source = await sourceFor('0.2', 30);
    drone!.fault('/api/queue', { kind: 'slow', ms: 5_000 });
    const started = Date.now();
    const e = await rejection(source.poll());
    expect(e.code).toBe('SOURCE_TIMEOUT');
    expect(e.details['timeoutMs']).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a long request timeout waits for a slow server, even with a shorter poll timeout', async () => {
    const source = await sourceFor('5', 0.2);
    drone!.fault('/api/queue', { kind: 'slow', ms: 600 });
    expect((await source.poll()).stages.map((s) => s.id)).toEqual(['1']);
  });
});
