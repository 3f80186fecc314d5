import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
import { meterCloudProvider } from '../../src/http/metered-ports.js';
import { DaemonMetrics } from '../../src/http/metrics.js';
import type { CloudProvider } from '../../src/ports/cloud-provider.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { SimWorld } from '../../src/sim/sim-world.js';

describe('the metered cloud provider', () => {
  it('keeps the optional warm-pool methods exactly when the provider has them', () => {
    const clock = new VirtualClock(0);
    const config = parseConfig({});
    const sim = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing }).cloud;
    const metered = meterCloudProvider(sim, new DaemonMetrics({ version: 't' }), { clock });
    expect(typeof metered.park === 'function').toBe(typeof sim.park === 'function');
    expect(typeof metered.reapOrphans === 'function').toBe(typeof sim.reapOrphans === 'function');
    const { park: _p, unpark: _u, reapOrphans: _r, ...bare } = sim;
    const plain = meterCloudProvider({ ...bare, kind: sim.kind } as CloudProvider, new DaemonMetrics({ version: 't' }), { clock });
    expect('park' in plain || 'unpark' in plain || 'reapOrphans' in plain).toBe(false);
  });

  it('times each call and counts failures by method and code, passing the failure on', async () => {
    const clock = new VirtualClock(0);
    const failing: CloudProvider = {
      kind: 'fake',
      launch: () => Promise.reject(new DdaError('CLOUD_CAPACITY', 'no room in us-east-1a')),
      describe: async () => {
        await new Promise<void>((r) => clock.setTimeout(r, 250));
        return { at: clock.now(), instances: [] };
      },
      startAgent: () => Promise.resolve(),
      drainAgent: () => Promise.resolve(),
      terminate: () => Promise.reject(new Error('socket hang up')),
    };
    const metrics = new DaemonMetrics({ version: 't' });
    const cloud = meterCloudProvider(failing, metrics, { clock });
    await expect(cloud.launch({ key: 'k', pool: 'p', demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} }, concurrency: 1 })).rejects.toMatchObject({ code: 'CLOUD_CAPACITY' });
    await expect(cloud.terminate('i-1')).rejects.toThrow('socket hang up');
    const described = cloud.describe();
    await clock.runUntil(1000);
    await described;
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^dda_cloud_request_errors_total\{provider="fake",method="launch",code="CLOUD_CAPACITY"\} 1$/m);
    expect(text).toMatch(/^dda_cloud_request_errors_total\{provider="fake",method="terminate",code="UNEXPECTED"\} 1$/m);
    expect(text).toMatch(/^dda_cloud_request_duration_seconds_sum\{provider="fake",method="describe"\} 0\.25$/m);
    // The message, which may name a zone or a host, is in no label.
    expect(text).not.toContain('us-east-1a');
    expect(text).not.toContain('hang up');
  });
});
