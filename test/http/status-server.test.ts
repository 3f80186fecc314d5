import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { FleetView } from '../../src/http/fleet-view.js';
import { startStatusServer } from '../../src/http/status-server.js';
import { startDaemon, type Daemon } from '../../src/runtime/daemon.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { SimWorld } from '../../src/sim/sim-world.js';
import { parseTrace } from '../../src/sim/trace.js';

describe('status page', () => {
  it('shows the mode, the queue, each instance with its reason, and decisions; metrics in Prometheus form', async () => {
    const start = Date.parse('2016-03-01T10:00:00Z');
    const clock = new VirtualClock(start);
    const config = parseConfig({ runtime: { queuePollSeconds: 15, fleetPollSeconds: 15, tickSeconds: 15 } });
    const world = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing });
    world.load(parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:05Z,3600\n2,2016-03-01T10:00:05Z,3600\n'));
    let daemon: Daemon | undefined;
    const view = new FleetView(() => daemon);
    daemon = startDaemon({ config, source: world.source, cloud: world.cloud, clock, logger: pino({ level: 'silent' }), onDecision: view.onDecision });
    await clock.runUntil(start + 10 * 60_000);

    const http = await startStatusServer(view, '127.0.0.1:0');
    try {
      const status = (await (await fetch(`${http.url}/status`)).json()) as ReturnType<FleetView['status']>;
      expect(status.mode).toBe('running');
      expect(status.queue).toEqual({ known: true, pending: 0, running: 2 });
      expect(status.instances).toHaveLength(2);
      for (const i of status.instances) {
        expect(i.state).toBe('task-running.busy');
        expect(i.reason).toMatch(/stage (already )?runs on the agent|a stage already runs on it/);
        expect(i.instance).toMatch(/^i-sim/);
      }
      expect(status.decisions[0]).toMatchObject({ kind: 'launch', count: 2, reason: expect.stringContaining('2 pending') });
      expect(status.totals.launched).toBe(2);

      const metrics = await (await fetch(`${http.url}/metrics`)).text();
      expect(metrics).toContain('dda_instances{pool="default",phase="task-running"} 2');
      expect(metrics).toContain('dda_queue_known 1');
      expect(metrics).toContain('dda_decisions_total{kind="launch"} 1');
      expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${http.url}/nope`)).status).toBe(404);
      expect((await fetch(`${http.url}/status`, { method: 'POST' })).status).toBe(405);
    } finally {
      await http.close();
      await daemon.halt();
    }
  });

  it('a bad listen address is a one-line error naming the variable', async () => {
    await expect(startStatusServer(new FleetView(() => undefined), 'everywhere')).rejects.toThrow('DDA_HTTP_LISTEN must be [host:]port, not "everywhere"');
  });
});
