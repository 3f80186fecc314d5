import type { Decision } from '../planner/types.js';
import type { Daemon } from '../runtime/daemon.js';
import { fleetOf, modeOf, queueOf, statsOf } from '../../machines/supervisor/selectors.js';

/**
 * What an operator sees: the supervisor's mode, the queue as last seen, every instance with
 * its state and the reason it is there, and the recent decisions with theirs. Built from the
 * supervisor's fleet (its selectors) and the decision feed; holds nothing secret by construction (no config
 * values beyond pool names, no tokens, no environment).
 */
export interface FleetStatus {
  mode: string;
  queue: { known: boolean; pending: number; running: number; since?: number; error?: string };
  instances: { key: string; instance: string | null; pool: string; state: string; phase: string; reason: string; forced: boolean; since: number | null }[];
  decisions: { at: number; kind: string; pool: string; key?: string; count?: number; reason: string }[];
  totals: { launched: number; adopted: number; released: number; forced: number; decisions: Record<string, number> };
}

export class FleetView {
  private readonly recent: FleetStatus['decisions'] = [];
  private readonly counts: Record<string, number> = {};
  private lastHold = new Map<string, string>();

  constructor(
    private readonly daemon: () => Daemon | undefined,
    private readonly keep = 100,
  ) {}

  onDecision = (d: Decision, now: number): void => {
    this.counts[d.kind] = (this.counts[d.kind] ?? 0) + 1;
    if (d.kind === 'hold') {
      // A hold repeats every tick; keep it once per change of reason code.
      const k = `${d.pool}`;
      if (this.lastHold.get(k) === d.code) return;
      this.lastHold.set(k, d.code);
    } else {
      this.lastHold.delete(d.pool);
    }
    this.recent.push({ at: now, kind: d.kind, pool: d.pool, ...('key' in d ? { key: d.key } : {}), ...(d.kind === 'launch' ? { count: d.count } : {}), reason: d.reason });
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  };

  status(): FleetStatus {
    const snap = this.daemon()?.supervisor.getSnapshot();
    const q = snap && queueOf(snap);
    const instances: FleetStatus['instances'] = (snap ? fleetOf(snap) : []).map((v) => ({ key: v.key, instance: v.instanceId, pool: v.pool, state: v.state, phase: v.phase, reason: v.reason, forced: v.forced, since: v.since }));
    return {
      mode: snap ? modeOf(snap) : 'starting',
      queue: !q
        ? { known: false, pending: 0, running: 0 }
        : q.known
          ? { known: true, pending: q.stages.filter((s) => s.status === 'pending' && !s.agent).length, running: q.stages.filter((s) => s.agent).length }
          : { known: false, pending: 0, running: 0, since: q.since, error: q.error },
      instances,
      decisions: [...this.recent].reverse(),
      totals: { ...(snap ? statsOf(snap) : { launched: 0, adopted: 0, released: 0, forced: 0 }), decisions: { ...this.counts } },
    };
  }

  /** Prometheus text exposition. */
  metrics(): string {
    const s = this.status();
    const lines: string[] = [];
    const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: [Record<string, string>, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) {
        const l = Object.entries(labels).map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, '_')}"`).join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${v}`);
      }
    };
    const byPhase = new Map<string, number>();
    for (const i of s.instances) {
      // The metric names the user's five lifecycle phases: an idle or busy agent is task-running.
      const k = `${i.pool}\u0000${i.phase === 'idle' || i.phase === 'busy' ? 'task-running' : i.phase}`;
      byPhase.set(k, (byPhase.get(k) ?? 0) + 1);
    }
    metric('dda_instances', 'Instances by pool and lifecycle phase.', 'gauge', [...byPhase].map(([k, v]) => {
      const [pool, phase] = k.split('\u0000') as [string, string];
      return [{ pool, phase }, v];
    }));
    metric('dda_queue_known', '1 when the last queue poll succeeded.', 'gauge', [[{}, s.queue.known ? 1 : 0]]);
    metric('dda_queue_stages', 'Stages in the CI queue as last seen.', 'gauge', [[{ status: 'pending' }, s.queue.pending], [{ status: 'running' }, s.queue.running]]);
    metric('dda_launches_total', 'Instances the planner asked for.', 'counter', [[{}, s.totals.launched]]);
    metric('dda_adopted_total', 'Instances adopted from the cloud.', 'counter', [[{}, s.totals.adopted]]);
    metric('dda_released_total', 'Instance actors that reached terminated.', 'counter', [[{}, s.totals.released]]);
    metric('dda_forced_total', 'Instances ended by something we did not choose (spot interruption, vanished, agent died).', 'counter', [[{}, s.totals.forced]]);
    metric('dda_decisions_total', 'Planner decisions by kind.', 'counter', Object.entries(s.totals.decisions).map(([kind, v]) => [{ kind }, v]));
    return `${lines.join('\n')}\n`;
  }
}
