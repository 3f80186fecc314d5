import type { ObservedInstance } from '../../src/ports/cloud-provider.js';

/** The supervisor tests' clock: a fixed start, and seconds. */
export const T0 = 1_700_000_000_000;
export const S = 1000;

/** One instance as a describe shows it: running, registered, its agent running, launched ten minutes before T0. */
export const obs = (o: Partial<ObservedInstance> & { instanceId: string; key: string }): ObservedInstance => ({
  pool: 'default',
  state: 'running',
  instanceType: 't3.xlarge',
  market: 'on-demand',
  pricePerHour: 0.17,
  launchedAt: T0 - 600 * S,
  registered: true,
  agent: 'running',
  draining: false,
  ...o,
});
