import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { DdaError, isDdaError } from '../../domain/errors.js';
import type { Demand } from '../../domain/pool.js';
import type { BuildRestart, QueueSnapshot, QueueSource, Stage } from '../../ports/queue-source.js';
import { httpCall, parseJson, httpTarget } from '../http/request.js';
import { validate } from '../http/validate.js';

/**
 * Drone's queue: `GET /api/queue` lists unfinished stages (pending and running) across all
 * repositories; admin only. Field names follow harness/harness `core/stage.go`.
 */

export interface DroneSourceOptions {
  /** `https://drone.example.com` (DRONE_SERVER_PROTO + DRONE_SERVER_HOST). */
  server: string;
  token: string;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  dispatcher?: Dispatcher;
}

// `kind`, `type`, `machine`, `variant`, `kernel`, `labels` are `omitempty` in Go: absent means empty.
const stageSchema = z.object({
  id: z.number().int(),
  build_id: z.number().int().nullish(),
  status: z.string(),
  machine: z.string().nullish(),
  os: z.string().nullish(),
  arch: z.string().nullish(),
  variant: z.string().nullish(),
  kernel: z.string().nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
  created: z.number(),
  started: z.number().nullish(),
});
// Go encodes a nil slice as `null`: an empty queue may arrive either way.
const queueSchema = z.array(stageSchema).nullable();
const userSchema = z.object({ login: z.string(), admin: z.boolean() });
// `GET /api/builds/incomplete` (admin): one repository per unfinished build, the build inside
// (harness/harness handler/api/builds, core.Repository with its `build`).
const incompleteSchema = z
  .array(z.object({ namespace: z.string(), name: z.string(), build: z.object({ id: z.number().int(), number: z.number().int() }).nullish() }))
  .nullable();
const restartedSchema = z.object({ number: z.number().int() });

type DroneStage = z.infer<typeof stageSchema>;

export function createDroneSource(opts: DroneSourceOptions): QueueSource {
  const log = opts.logger.child({ name: 'sources.drone' });
  const target = httpTarget('drone', { ...opts, auth: { kind: 'bearer', token: opts.token } });

  async function fetchQueue(signal?: AbortSignal): Promise<DroneStage[]> {
    const { text } = await httpCall(target, { method: 'GET', path: '/api/queue', signal });
    return validate('drone', '/api/queue', queueSchema, parseJson('drone', '/api/queue', text)) ?? [];
  }

  return {
    kind: 'drone',
    drainStyle: 'signal',

    async probe(signal) {
      if (opts.token === '') throw new DdaError('SOURCE_UNAUTHORIZED', 'drone: DRONE_SERVER_TOKEN is empty: set it to an admin user\'s API token', { variable: 'DRONE_SERVER_TOKEN' });
      try {
        const { text } = await httpCall(target, { method: 'GET', path: '/api/user', signal });
        const user = validate('drone', '/api/user', userSchema, parseJson('drone', '/api/user', text));
        if (!user.admin) {
          throw new DdaError('SOURCE_FORBIDDEN', `drone: the token belongs to "${user.login}", who is not an admin: DRONE_SERVER_TOKEN must be an admin user's token`, { variable: 'DRONE_SERVER_TOKEN', login: user.login });
        }
        await fetchQueue(signal);
      } catch (e) {
        throw explainProbe(e);
      }
      log.info({ server: target.baseUrl }, 'drone queue reachable with an admin token');
    },

    async poll(signal): Promise<QueueSnapshot> {
      const raw = await fetchQueue(signal);
      const at = opts.clock.now();
      const stages: Stage[] = [];
      for (const s of raw) {
        const stage = toStage(s);
        if (stage) stages.push(stage);
        else log.debug({ stageId: s.id, status: s.status }, 'stage in a status that is not queued work; skipped');
      }
      return { at, stages };
    },

    // Drone has no server-side "stop scheduling to this runner": the runner stops taking work
    // on SIGTERM (drainStyle 'signal'), and forgets itself when it exits.
    async drainAgent() {},
    async forgetAgent() {},

    // A stage carries its build's id; restarting takes the repository and the build number,
    // which the list of unfinished builds gives. A build no longer in it has finished.
    async restartBuild(build, signal): Promise<BuildRestart> {
      const path = '/api/builds/incomplete';
      const { text } = await httpCall(target, { method: 'GET', path, signal });
      const repos = validate('drone', path, incompleteSchema, parseJson('drone', path, text)) ?? [];
      const repo = repos.find((r) => r.build && String(r.build.id) === build);
      if (!repo?.build) return { restarted: false, why: 'the build has finished (not among the unfinished builds)' };
      const name = `${repo.namespace}/${repo.name}#${repo.build.number}`;
      const restart = `/api/repos/${encodeURIComponent(repo.namespace)}/${encodeURIComponent(repo.name)}/builds/${repo.build.number}`;
      const reply = await httpCall(target, { method: 'POST', path: restart, signal });
      const next = restartedSchema.safeParse(parseJson('drone', restart, reply.text));
      return { restarted: true, name, ...(next.success ? { next: `${repo.namespace}/${repo.name}#${next.data.number}` } : {}) };
    },
  };
}

export function toStage(s: DroneStage): Stage | undefined {
  if (s.status !== 'pending' && s.status !== 'running') return undefined;
  const demand: Demand = {
    os: s.os || 'linux',
    arch: s.arch || 'amd64',
    variant: s.variant ?? '',
    kernel: s.kernel ?? '',
    labels: { ...(s.labels ?? {}) },
  };
  const stage: Stage = { id: String(s.id), status: s.status, demand, createdAt: s.created * 1000 };
  if (s.machine) stage.agent = s.machine;
  if (s.started) stage.startedAt = s.started * 1000;
  if (s.build_id) stage.build = String(s.build_id);
  return stage;
}

/** Turn the probe's failures into messages that say what to fix. */
function explainProbe(e: unknown): unknown {
  if (!isDdaError(e)) return e;
  const path = e.details['path'];
  if (e.code === 'SOURCE_UNAUTHORIZED') {
    return new DdaError('SOURCE_UNAUTHORIZED', 'drone: the server rejected DRONE_SERVER_TOKEN (401): set it to a valid admin user\'s API token', e.details);
  }
  if (e.code === 'SOURCE_FORBIDDEN' && e.details['status'] === 403) {
    return new DdaError('SOURCE_FORBIDDEN', `drone: ${String(path)} answered 403: DRONE_SERVER_TOKEN must belong to an admin user`, e.details);
  }
  if (e.code === 'SOURCE_UNSUPPORTED') {
    return new DdaError('SOURCE_UNSUPPORTED', 'drone: /api/queue answered 501: this Drone build has no queue endpoint (the oss build); use a build with it', e.details);
  }
  return e;
}
