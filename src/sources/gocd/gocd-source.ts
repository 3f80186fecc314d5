import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.js';
import { DdaError, isDdaError } from '../../domain/errors.js';
import type { Demand } from '../../domain/pool.js';
import type { QueueSnapshot, QueueSource, Stage } from '../../ports/queue-source.js';
import { FirstSeen } from '../first-seen.js';
import { httpCall, parseJson, type HttpAuth, httpTarget } from '../http/request.js';
import { validate } from '../http/validate.js';

/**
 * GoCD's queue has two halves: jobs waiting for an agent (the scheduled-jobs XML feed, shaped by
 * gocd/gocd `server/domain/xml/JobPlanXmlRepresenter.java`) and jobs being built (agents whose
 * `agent_state` is Building, agents API v7, `apiv7/agents/representers/AgentRepresenter.java`).
 *
 * Demand mapping (GoCD has no platform or key/value labels): each resource a job needs becomes
 * the label `<resource>: "true"`, and its environment the label `environment: <name>`. A pool
 * for GoCD declares the same labels; gocdAgentSpec (agent-spec.ts) turns them back into
 * AGENT_AUTO_REGISTER_RESOURCES / _ENVIRONMENTS, so the agents we start match the pool exactly.
 */

export interface GocdSourceOptions {
  /** The server URL ending in `/go`, as agents' GO_SERVER_URL: `https://gocd.example.com/go`. */
  server: string;
  auth: HttpAuth;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
  dispatcher?: Dispatcher;
}

export const GOCD_AGENTS_MEDIA_TYPE = 'application/vnd.go.cd.v7+json';
export const GOCD_FEED_PATHS = ['/api/feed/jobs/scheduled.xml', '/api/jobs/scheduled.xml'] as const;
/** The label that carries a GoCD environment; every other label is a resource. */
export const GOCD_ENVIRONMENT_LABEL = 'environment';

const xmlText = z.union([z.string(), z.object({ '#text': z.string() }).transform((o) => o['#text'])]);
const jobSchema = z.object({
  '@_name': z.string(),
  buildLocator: xmlText,
  environment: xmlText.optional(),
  resources: z.union([z.literal(''), z.object({ resource: z.array(xmlText).optional() })]).optional(),
});
const feedSchema = z.object({
  scheduledJobs: z.union([z.literal(''), z.object({ job: z.array(jobSchema).optional() })]),
});

const envSchema = z.union([z.string(), z.object({ name: z.string() }).transform((o) => o.name)]);
const agentSchema = z.object({
  uuid: z.string(),
  hostname: z.string(),
  agent_config_state: z.string(),
  agent_state: z.string(),
  resources: z.array(z.string()).nullish(),
  environments: z.array(envSchema).nullish(),
});
const agentsSchema = z.object({ _embedded: z.object({ agents: z.array(agentSchema) }) });

type GocdAgent = z.infer<typeof agentSchema>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  ignoreDeclaration: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, jpath) => jpath === 'scheduledJobs.job' || jpath === 'scheduledJobs.job.resources.resource',
});

export function createGocdSource(opts: GocdSourceOptions): QueueSource {
  const log = opts.logger.child({ name: 'sources.gocd' });
  const firstSeen = new FirstSeen();
  const firstBuilding = new FirstSeen();
  // Learned once: servers before 20.6 only have the older path.
  let feedPath: string = GOCD_FEED_PATHS[0];
  const target = httpTarget('gocd', { ...opts, auth: opts.auth });
  const v7 = { accept: GOCD_AGENTS_MEDIA_TYPE };

  async function scheduledJobs(signal?: AbortSignal): Promise<Stage[]> {
    let reply = await httpCall(target, { method: 'GET', path: feedPath, headers: { accept: 'application/xml' }, accept: [404], signal });
    if (reply.status === 404 && feedPath === GOCD_FEED_PATHS[0]) {
      feedPath = GOCD_FEED_PATHS[1];
      log.info({ path: feedPath }, 'scheduled-jobs feed not found; using the older path');
      reply = await httpCall(target, { method: 'GET', path: feedPath, headers: { accept: 'application/xml' }, accept: [404], signal });
    }
    if (reply.status === 404) throw new DdaError('SOURCE_UNSUPPORTED', `gocd: neither ${GOCD_FEED_PATHS.join(' nor ')} exists on this server`, { source: 'gocd', path: feedPath, status: 404 });
    return parseScheduledJobs(reply.text, feedPath);
  }

  async function agents(signal?: AbortSignal): Promise<GocdAgent[]> {
    const { text } = await httpCall(target, { method: 'GET', path: '/api/agents', headers: v7, signal });
    return validate('gocd', '/api/agents', agentsSchema, parseJson('gocd', '/api/agents', text))._embedded.agents;
  }

  async function findAgent(hostname: string, signal?: AbortSignal): Promise<GocdAgent | undefined> {
    return (await agents(signal)).find((a) => a.hostname === hostname);
  }

  async function disable(agent: GocdAgent, signal?: AbortSignal): Promise<void> {
    if (agent.agent_config_state === 'Disabled') return;
    await httpCall(target, { method: 'PATCH', path: `/api/agents/${encodeURIComponent(agent.uuid)}`, headers: v7, json: { agent_config_state: 'Disabled' }, signal });
    log.info({ agent: agent.hostname, uuid: agent.uuid }, 'drain: agent disabled');
  }

  return {
    kind: 'gocd',
    drainStyle: 'server',

    async probe(signal) {
      try {
        await agents(signal);
        await scheduledJobs(signal);
      } catch (e) {
        if (isDdaError(e, 'SOURCE_UNAUTHORIZED')) {
          throw new DdaError('SOURCE_UNAUTHORIZED', 'gocd: the server rejected the credentials (401): set GOCD_TOKEN (or GOCD_USERNAME and GOCD_PASSWORD) to an administrator\'s', e.details);
        }
        if (isDdaError(e, 'SOURCE_FORBIDDEN')) {
          throw new DdaError('SOURCE_FORBIDDEN', `gocd: ${String(e.details['path'])} answered 403: the GoCD user needs view rights on agents and the scheduled-jobs feed (admin to drain)`, e.details);
        }
        if (isDdaError(e, 'SOURCE_HTTP') && e.details['status'] === 404 && e.details['path'] === '/api/agents') {
          throw new DdaError('SOURCE_UNSUPPORTED', 'gocd: /api/agents answered 404 to the v7 media type: GOCD_SERVER_URL must end in /go and the server must speak agents API v7 (GoCD 20.x or later)', e.details);
        }
        throw e;
      }
      log.info({ server: target.baseUrl, feed: feedPath }, 'gocd agents and scheduled jobs reachable');
    },

    async poll(signal): Promise<QueueSnapshot> {
      const [pending, all] = await Promise.all([scheduledJobs(signal), agents(signal)]);
      const at = opts.clock.now();
      const since = firstSeen.observe(pending.map((s) => s.id), at);
      for (const s of pending) s.createdAt = since(s.id);
      // A job being built is visible only as its agent's state; one running stage per Building agent.
      const building = all.filter((a) => a.agent_state === 'Building');
      const started = firstBuilding.observe(building.map((a) => a.uuid), at);
      const running: Stage[] = building.map((a) => ({
        id: `agent:${a.uuid}`,
        status: 'running',
        demand: agentDemand(a),
        agent: a.hostname,
        createdAt: started(a.uuid),
        startedAt: started(a.uuid),
      }));
      return { at, stages: [...pending, ...running] };
    },

    async drainAgent(agentName, signal) {
      const agent = await findAgent(agentName, signal);
      if (!agent) return void log.debug({ agent: agentName }, 'drain: agent not registered; nothing to do');
      await disable(agent, signal);
    },

    async forgetAgent(agentName, signal) {
      const agent = await findAgent(agentName, signal);
      if (!agent) return;
      // GoCD deletes only disabled agents.
      await disable(agent, signal);
      await httpCall(target, { method: 'DELETE', path: `/api/agents/${encodeURIComponent(agent.uuid)}`, headers: v7, accept: [404], signal });
      log.info({ agent: agentName, uuid: agent.uuid }, 'agent deleted from the server');
    },
  };
}

/** Parse the scheduled-jobs feed; createdAt is filled in by the caller. */
export function parseScheduledJobs(text: string, path: string): Stage[] {
  if (XMLValidator.validate(text) !== true) {
    throw new DdaError('SOURCE_MALFORMED', `gocd: ${path}: the body is not well-formed XML (${text.length} bytes)`, { source: 'gocd', path, bytes: text.length });
  }
  const feed = validate('gocd', path, feedSchema, parser.parse(text));
  const jobs = feed.scheduledJobs === '' ? [] : (feed.scheduledJobs.job ?? []);
  return jobs.map((j) => {
    const resources = j.resources === undefined || j.resources === '' ? [] : (j.resources.resource ?? []);
    return { id: j.buildLocator, status: 'pending', demand: gocdDemand(resources, j.environment ? [j.environment] : []), createdAt: 0 };
  });
}

export function gocdDemand(resources: readonly string[], environments: readonly string[]): Demand {
  const labels: Record<string, string> = {};
  for (const r of resources) if (r.trim() !== '') labels[r.trim()] = 'true';
  const envs = environments.map((e) => e.trim()).filter((e) => e !== '').sort();
  if (envs.length > 0) labels[GOCD_ENVIRONMENT_LABEL] = envs.join(',');
  return { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels };
}

function agentDemand(a: GocdAgent): Demand {
  return gocdDemand(a.resources ?? [], a.environments ?? []);
}
