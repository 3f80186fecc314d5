import type { SimWorld } from '../src/sim/sim-world.js';

/** One point of a time series: jobs waiting, jobs running, instances alive (billed). */
export interface SeriesPoint {
  t: number;
  pending: number;
  running: number;
  instances: number;
}

/**
 * Watches the world after every simulated instant (nothing changes between instants, so the
 * integrals are exact): instance-time paid while the queue held no job at all, and the
 * change points of queue and fleet inside one window (the busy day drawn in the SVG).
 */
export class Sampler {
  private lastT: number | null = null;
  private lastLive = 0;
  private lastEmpty = true;
  idleEmptyMs = 0;
  readonly series: SeriesPoint[] = [];
  constructor(private readonly window: readonly [number, number] | null) {}

  sample(world: SimWorld, now: number): void {
    if (this.lastT !== null && this.lastEmpty) this.idleEmptyMs += (now - this.lastT) * this.lastLive;
    const q = world.queueDepth;
    const live = world.liveInstances;
    this.lastT = now;
    this.lastLive = live;
    this.lastEmpty = q.pending + q.running === 0;
    const w = this.window;
    if (w && now >= w[0] && now < w[1]) {
      const p = this.series[this.series.length - 1];
      if (!p || p.pending !== q.pending || p.running !== q.running || p.instances !== live) this.series.push({ t: now, pending: q.pending, running: q.running, instances: live });
    }
  }
}
