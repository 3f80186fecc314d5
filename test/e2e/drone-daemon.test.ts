import { afterEach, describe, expect, it } from 'vitest';
import { FakeDrone } from '../sources/fake-drone.js';
import { CliProcess, writeJson } from '../helpers/cli-process.js';

/**
 * The daemon as a user runs it (`drone-dynamic-agents run`), configured for a Drone server
 * (a real HTTP server on loopback speaking Drone's API) and the simulated cloud: it scales up
 * when stages appear and back down after they finish.
 */
const TOKEN = 'e2e-admin-token-5f0c1d';
const fast = {
  pools: [{ name: 'default', max: 3 }],
  planner: { idleGraceSeconds: 1, billing: { periodSeconds: 1, minimumSeconds: 0 } },
  runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.2, tickSeconds: 0.2, pollTimeoutSeconds: 2, retryBaseSeconds: 0.05 },
  lifecycle: { goneGraceSeconds: 5 },
  simulatedCloud: { vmStartSeconds: [0.1, 0.2], bootstrapSeconds: [0.2, 0.4], agentStartSeconds: 0.1, terminateSeconds: 0.1 },
};

let drone: FakeDrone | undefined;
let cli: CliProcess | undefined;
afterEach(async (ctx) => {
  // On failure, show what the daemon said: the log is the explanation.
  if (ctx.task.result?.state === 'fail' && cli) console.log(cli.raw.slice(-40).join('\n'), cli.stderr);
  cli?.kill('SIGKILL');
  await drone?.close();
});

const droneEnv = (d: FakeDrone) => ({
  DRONE_SERVER_PROTO: 'http',
  DRONE_SERVER_HOST: new URL(d.url).host,
  DRONE_SERVER_TOKEN: TOKEN,
  DRONE_RPC_SECRET_REF: '/dda/drone-rpc-secret',
});

type Line = Record<string, unknown>;
const lifecycle = (ls: Line[]) => ls.filter((l) => l.msg === 'lifecycle');

describe('daemon with a Drone server and the simulated cloud', () => {
  it('scales up for waiting stages and back down to zero after they finish', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    cli = new CliProcess(['run', '--config', writeJson(fast)], droneEnv(drone));
    await cli.waitFor((ls) => ls.find((l) => l.msg === 'daemon started'), 'daemon started');

    const a = drone.addStage();
    const b = drone.addStage();
    // Two agents come up (requested → booting → task-running).
    const running = await cli.waitFor((ls) => {
      const ids = [...new Set(lifecycle(ls).filter((l) => String(l.to).startsWith('task-running')).map((l) => String(l.instance)))];
      return ids.length >= 2 && ids;
    }, 'two agents running');
    expect(lifecycle(cli.lines).filter((l) => l.from === '(new)')).toHaveLength(2);

    // The runners take the stages (stage.machine = the agent's name = its instance id).
    drone.startStage(a, running[0]!);
    drone.startStage(b, running[1]!);
    await cli.waitFor((ls) => lifecycle(ls).filter((l) => l.to === 'task-running.busy').length >= 2, 'both agents busy');
    // While busy, nothing is drained, however long it takes.
    await new Promise((r) => setTimeout(r, 1500));
    expect(lifecycle(cli.lines).filter((l) => String(l.to).startsWith('draining'))).toEqual([]);

    drone.finishStage(a);
    drone.finishStage(b);
    await cli.waitFor((ls) => lifecycle(ls).filter((l) => l.to === 'terminated').length >= 2, 'both instances terminated');
    const ends = lifecycle(cli.lines).filter((l) => l.to === 'terminated');
    expect(ends.map((l) => l.reason).sort()).toEqual(['instance gone', 'instance gone']);
    const drains = cli.lines.filter((l) => l.msg === 'decision' && l.decision === 'drain');
    expect(drains).toHaveLength(2);
    for (const d of drains) expect(String(d.reason)).toMatch(/idle and not needed/);

    cli.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    // The token never reaches a log line.
    expect(cli.raw.join('\n')).not.toContain(TOKEN);
  }, 45_000);

  it('holds (no launch) while the Drone queue answers errors, and says so', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    drone.fault('/api/queue', { kind: 'status', status: 503 });
    drone.addStage();
    cli = new CliProcess(['run', '--config', writeJson(fast)], droneEnv(drone));
    await cli.waitFor((ls) => ls.find((l) => l.msg === 'decision' && l.code === 'queue-unknown'), 'a queue-unknown hold');
    await new Promise((r) => setTimeout(r, 1000));
    expect(cli.lines.filter((l) => l.msg === 'decision' && l.decision === 'launch')).toEqual([]);
    drone.fault('/api/queue', undefined);
    await cli.waitFor((ls) => ls.find((l) => l.msg === 'decision' && l.decision === 'launch'), 'a launch once the queue is visible');
    expect(cli.raw.join('\n')).not.toContain(TOKEN);
  }, 30_000);

  it('refuses to start with a token that is not an admin, saying what to fix', async () => {
    drone = await FakeDrone.start({ token: TOKEN, admin: false });
    cli = new CliProcess(['run', '--config', writeJson(fast)], droneEnv(drone));
    expect(await cli.exited).not.toBe(0);
    const err = cli.stderr.trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(/admin/i);
    expect(err).not.toContain(TOKEN);
  }, 20_000);
});
