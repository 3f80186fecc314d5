import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { DdaError, isDdaError } from '../../domain/errors.js';
import type { Demand } from '../../domain/pool.js';
import type { QueueSnapshot, QueueSource, Stage } from '../../ports/queue-source.js';
import { FirstSeen } from '../first-seen.js';
import { httpCall, parseJson, httpTarget } from '../http/request.js';
import { validate } from '../http/validate.js';

/**
 * Woodpecker's queue: `GET /api/queue/info` (admin). Field names follow woodpecker-ci/woodpecker
 * `server/model/task.go`, `server/model/queue.go` (3.10+, adds `agent_name`, `pipeline_number`)
 * and the older `server/queue/queue.go` InfoT (lists may be `null`).
 *
 * `waiting_on_deps` tasks are not counted: they cannot run until a task they depend on finishes,
 * and that task is itself pending or running (and counted). Launching for them would buy a
 * machine that sits idle for the length of the upstream build.
 */

export interface WoodpeckerSourceOptions {
  /** `https://ci.example.com` (WOODPECKER_SERVER). */
  server: string;
  token: string;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  dispatcher?: Dispatcher;
}

const taskSchema = z.object({
  id: z.string(),
  labels: z.record(z.string(), z.string()).nullish(),
  agent_id: z.number().int().nullish(),
  agent_name: z.string().nullish(),
});
const infoSchema = z.object({
  pending: z.array(taskSchema).nullable(),
  waiting_on_deps: z.array(taskSchema).nullish(),
  running: z.array(taskSchema).nullable(),
});
const agentSchema = z.object({ id: z.number().int(), name: z.string(), no_schedule: z.boolean().nullish() });
const agentsSchema = z.array(agentSchema).nullable();
const userSchema = z.object({ login: z.string(), admin: z.boolean() });

type Task = z.infer<typeof taskSchema>;
type Agent = z.infer<typeof agentSchema>;

/** Labels the server stamps on every task for routing by owner, not by machine kind. */
const ROUTING_LABELS = new Set(['repo', 'org-id', 'repo-id']);
const AGENTS_PAGE = 100;

export function createWoodpeckerSource(opts: WoodpeckerSourceOptions): QueueSource {
  const log = opts.logger.child({ name: 'sources.woodpecker' });
  const firstSeen = new FirstSeen();
  const firstRunning = new FirstSeen();
  const target = httpTarget('woodpecker', { ...opts, auth: { kind: 'bearer', token: opts.token } });

  async function getJson<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal): Promise<z.infer<S>> {
    const { text } = await httpCall(target, { method: 'GET', path, signal });
    return validate('woodpecker', path.split('?')[0]!, schema, parseJson('woodpecker', path, text));
  }

  /** Every agent, across pages (the list is paginated since 2.x; older servers ignore the query). */
  async function listAgents(signal?: AbortSignal): Promise<Agent[]> {
    const all = new Map<number, Agent>();
    for (let page = 1; page <= 100; page++) {
      const batch = (await getJson(`/api/agents?page=${page}&perPage=${AGENTS_PAGE}`, agentsSchema, signal)) ?? [];
      let fresh = 0;
      for (const a of batch) if (!all.has(a.id)) (all.set(a.id, a), fresh++);
      // A server without pagination answers the whole list for every page: stop when nothing is new.
      if (batch.length < AGENTS_PAGE || fresh === 0) break;
    }
    return [...all.values()];
  }

  async function findAgent(name: string, signal?: AbortSignal): Promise<Agent | undefined> {
    return (await listAgents(signal)).find((a) => a.name === name);
  }

  return {
    kind: 'woodpecker',
    drainStyle: 'server',

    async probe(signal) {
      if (opts.token === '') throw new DdaError('SOURCE_UNAUTHORIZED', 'woodpecker: WOODPECKER_TOKEN is empty: set it to an admin user\'s personal access token', { variable: 'WOODPECKER_TOKEN' });
      try {
        const user = await getJson('/api/user', userSchema, signal);
        if (!user.admin) {
          throw new DdaError('SOURCE_FORBIDDEN', `woodpecker: the token belongs to "${user.login}", who is not an admin: WOODPECKER_TOKEN must be an admin's token`, { variable: 'WOODPECKER_TOKEN', login: user.login });
        }
        await getJson('/api/queue/info', infoSchema, signal);
      } catch (e) {
        if (isDdaError(e, 'SOURCE_UNAUTHORIZED')) {
          throw new DdaError('SOURCE_UNAUTHORIZED', 'woodpecker: the server rejected WOODPECKER_TOKEN (401): set it to a valid admin personal access token', e.details);
        }
        if (isDdaError(e, 'SOURCE_FORBIDDEN') && e.details['status'] === 403) {
          throw new DdaError('SOURCE_FORBIDDEN', `woodpecker: ${String(e.details['path'])} answered 403: WOODPECKER_TOKEN must belong to an admin`, e.details);
        }
        throw e;
      }
      log.info({ server: target.baseUrl }, 'woodpecker queue reachable with an admin token');
    },

    async poll(signal): Promise<QueueSnapshot> {
      const info = await getJson('/api/queue/info', infoSchema, signal);
      const pending = info.pending ?? [];
      const running = info.running ?? [];
      // Before 3.10 tasks carry only agent_id: resolve names from the agent list, once per poll.
      const needNames = running.some((t) => !t.agent_name && (t.agent_id ?? 0) > 0);
      const names = needNames ? new Map((await listAgents(signal)).map((a) => [a.id, a.name])) : new Map<number, string>();
      const at = opts.clock.now();
      const since = firstSeen.observe([...pending, ...running].map((t) => t.id), at);
      const startedSince = firstRunning.observe(running.map((t) => t.id), at);

      const stages: Stage[] = [];
      for (const t of pending) stages.push(toStage(t, 'pending', since(t.id)));
      for (const t of running) {
        const agent = t.agent_name || (t.agent_id ? names.get(t.agent_id) : undefined);
        if (!agent && t.agent_id) log.debug({ taskId: t.id, agentId: t.agent_id }, 'running task names an agent that no longer exists');
        const stage = toStage(t, 'running', since(t.id));
        stage.startedAt = startedSince(t.id);
        if (agent) stage.agent = agent;
        stages.push(stage);
      }
      return { at, stages };
    },

    async drainAgent(agentName, signal) {
      const agent = await findAgent(agentName, signal);
      // Not registered (never booted, or already deleted): nothing will be scheduled to it.
      if (!agent) return void log.debug({ agent: agentName }, 'drain: agent not registered; nothing to do');
      if (agent.no_schedule) return;
      await httpCall(target, { method: 'PATCH', path: `/api/agents/${agent.id}`, json: { name: agent.name, no_schedule: true }, signal });
      log.info({ agent: agentName, agentId: agent.id }, 'drain: no_schedule set');
    },

    async forgetAgent(agentName, signal) {
      const agent = await findAgent(agentName, signal);
      if (!agent) return;
      // 404: deleted between the list and the delete. 409 (agent still has running tasks) stays an error.
      await httpCall(target, { method: 'DELETE', path: `/api/agents/${agent.id}`, accept: [404], signal });
      log.info({ agent: agentName, agentId: agent.id }, 'agent deleted from the server');
    },
  };
}

/**
 * Task labels → demand. `platform` ("linux/arm64/v8") becomes os/arch/variant; routing labels
 * (`repo`, `org-id`, `repo-id`), the server's own `woodpecker-ci.org/…` keys and empty values
 * (which Woodpecker's filter ignores) are dropped; `backend: docker` is what our agents run, so
 * it demands nothing extra. Every other label must be served by a pool with the same label.
 */
export function taskDemand(labels: Readonly<Record<string, string>>): Demand {
  const demand: Demand = { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} };
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (v === '' || ROUTING_LABELS.has(k) || k.startsWith('woodpecker-ci.org/')) continue;
    if (k === 'backend' && v === 'docker') continue;
    if (k === 'platform') {
      const [os, arch, variant] = v.split('/');
      demand.os = os || 'linux';
      demand.arch = arch || 'amd64';
      demand.variant = variant ?? '';
      continue;
    }
    rest[k] = v;
  }
  demand.labels = rest;
  return demand;
}

/** The server gives no times: createdAt/startedAt are when this daemon first saw the task so. */
function toStage(t: Task, status: 'pending' | 'running', createdAt: number): Stage {
  return { id: t.id, status, demand: taskDemand(t.labels ?? {}), createdAt };
}
