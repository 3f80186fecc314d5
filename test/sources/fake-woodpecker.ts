import { FakeHttpServer, json, query, type Fault, type RecordedRequest, type Reply } from './fake-http.js';

/**
 * A Woodpecker server as the daemon sees it: `/api/user`, `/api/queue/info`, `/api/agents`
 * (paginated), `PATCH` and `DELETE /api/agents/:id`. Two shapes of the queue, as in
 * woodpecker-ci/woodpecker: before 3.10 (`server/queue` InfoT: empty lists are `null`, tasks
 * carry only `agent_id`, `Paused` has no json tag, `completed_count` exists) and 3.10+
 * (`server/model/queue.go` QueueInfo: `[]`, `agent_name`, `pipeline_number`).
 */

export interface FakeTask {
  id: string;
  labels: Record<string, string>;
  agent_id: number;
}

export interface FakeAgent {
  id: number;
  name: string;
  no_schedule: boolean;
}

export class FakeWoodpecker {
  readonly http = new FakeHttpServer();
  shape: 'pre-3.10' | '3.10';
  admin = true;
  pending: FakeTask[] = [];
  waiting: FakeTask[] = [];
  running: FakeTask[] = [];
  agents: FakeAgent[] = [];
  /** Servers before pagination answer the whole list whatever the query. */
  paginates = true;

  private constructor(private readonly token: string, shape: 'pre-3.10' | '3.10') {
    this.shape = shape;
    this.http.on('GET', '/api/user', (req) => this.auth(req) ?? json(200, { id: 1, login: 'admin', email: '', avatar_url: '', admin: this.admin, forge_id: 1 }));
    this.http.on('GET', '/api/queue/info', (req) => this.auth(req) ?? this.admin403() ?? json(200, this.info()));
    this.http.on('GET', '/api/agents', (req) => {
      const denied = this.auth(req) ?? this.admin403();
      if (denied) return denied;
      if (!this.paginates) return json(200, this.agents.map(agentJson));
      const q = query(req);
      const page = Number(q.get('page') ?? '1');
      const per = Number(q.get('perPage') ?? '50');
      return json(200, this.agents.slice((page - 1) * per, page * per).map(agentJson));
    });
    this.http.on('PATCH', '/api/agents/:id', (req, p) => {
      const denied = this.auth(req) ?? this.admin403();
      if (denied) return denied;
      const agent = this.agents.find((a) => a.id === Number(p['id']));
      if (!agent) return { status: 404, body: 'not found', contentType: 'text/plain' };
      // As server/api/agent.go PatchAgent: name and no_schedule are both taken from the body.
      const body = JSON.parse(req.body) as { name?: string; no_schedule?: boolean };
      agent.name = body.name ?? '';
      agent.no_schedule = body.no_schedule ?? false;
      return json(200, agentJson(agent));
    });
    this.http.on('DELETE', '/api/agents/:id', (req, p) => {
      const denied = this.auth(req) ?? this.admin403();
      if (denied) return denied;
      const agent = this.agents.find((a) => a.id === Number(p['id']));
      if (!agent) return { status: 404, body: 'not found', contentType: 'text/plain' };
      if (this.running.some((t) => t.agent_id === agent.id)) return { status: 409, body: 'Agent has running tasks', contentType: 'text/plain' };
      this.agents = this.agents.filter((a) => a !== agent);
      return { status: 204 };
    });
  }

  static async start(token: string, shape: 'pre-3.10' | '3.10' = '3.10'): Promise<FakeWoodpecker> {
    const w = new FakeWoodpecker(token, shape);
    await w.http.start();
    return w;
  }

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  fault(path: string, fault: Fault | undefined): void {
    this.http.fault(path, fault);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private info(): unknown {
    const task = (t: FakeTask) => {
      const base = { id: t.id, labels: t.labels, dependencies: [], run_on: null, dep_status: {}, agent_id: t.agent_id };
      if (this.shape === 'pre-3.10') return base;
      return { ...base, pid: 0, name: `workflow-${t.id}`, pipeline_id: 7, repo_id: 3, pipeline_number: 42, agent_name: this.agents.find((a) => a.id === t.agent_id)?.name ?? '' };
    };
    const list = (ts: FakeTask[]) => (ts.length === 0 && this.shape === 'pre-3.10' ? null : ts.map(task));
    const stats = { worker_count: 2, pending_count: this.pending.length, waiting_on_deps_count: this.waiting.length, running_count: this.running.length };
    if (this.shape === 'pre-3.10') {
      return { pending: list(this.pending), waiting_on_deps: list(this.waiting), running: list(this.running), stats: { ...stats, completed_count: 0 }, Paused: false };
    }
    return { pending: list(this.pending), waiting_on_deps: list(this.waiting), running: list(this.running), stats, paused: false };
  }

  private auth(req: RecordedRequest): Reply | undefined {
    return req.headers['authorization'] === `Bearer ${this.token}` ? undefined : { status: 401, body: 'Unauthorized', contentType: 'text/plain' };
  }

  private admin403(): Reply | undefined {
    return this.admin ? undefined : { status: 403, body: 'Forbidden', contentType: 'text/plain' };
  }
}

function agentJson(a: FakeAgent): unknown {
  return { id: a.id, created: 1, updated: 1, name: a.name, owner_id: -1, org_id: -1, token: '', last_contact: 1, last_work: 1, platform: 'linux/amd64', backend: 'docker', capacity: 1, version: '3.10.0', no_schedule: a.no_schedule, custom_labels: {} };
}
