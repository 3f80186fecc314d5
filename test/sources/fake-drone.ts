import { FakeHttpServer, json, type Fault, type RecordedRequest } from './fake-http.js';

/**
 * A Drone server as far as the daemon sees it: `GET /api/user` and `GET /api/queue`, shaped
 * like harness/harness `core/stage.go` and `handler/api/queue` (admin only, 401 without a valid
 * token, 403 for non-admins, 501 for builds without the queue endpoint).
 *
 * Stages are changed at runtime with addStage / startStage / finishStage; times are unix
 * seconds, as Drone sends them.
 */

export interface FakeDroneStage {
  id: number;
  repo_id: number;
  build_id: number;
  number: number;
  name: string;
  kind?: string;
  type?: string;
  status: 'pending' | 'running';
  errignore: boolean;
  exit_code: number;
  machine?: string;
  os: string;
  arch: string;
  variant?: string;
  kernel?: string;
  started: number;
  stopped: number;
  created: number;
  updated: number;
  version: number;
  on_success: boolean;
  on_failure: boolean;
  depends_on?: string[];
  labels?: Record<string, string>;
}

export interface FakeDroneOptions {
  token: string;
  /** `admin` of the token's user (default true). */
  admin?: boolean;
  /** Answer 501 on the queue, like a Drone built with the `oss` tag. */
  oss?: boolean;
  /** Unix seconds for `created` when a stage does not say (default: now). */
  now?: () => number;
}

export class FakeDrone {
  readonly http = new FakeHttpServer();
  admin: boolean;
  oss: boolean;
  private stages = new Map<number, FakeDroneStage>();
  private nextId = 1;
  /** Restarts asked for (`POST /api/repos/{owner}/{name}/builds/{number}`), in order: `owner/name#number`. */
  readonly restarts: string[] = [];
  /** Repository of each build, by build id (default: octocat/hello-world, build number = build id). */
  private readonly repos = new Map<number, { namespace: string; name: string; number: number }>();
  private nextBuild = 1000;

  private constructor(private readonly opts: FakeDroneOptions) {
    this.admin = opts.admin ?? true;
    this.oss = opts.oss ?? false;
    this.http.on('GET', '/api/user', (req) =>
      this.authorized(req) ?? json(200, { id: 1, login: 'octocat', email: 'octocat@example.com', machine: false, admin: this.admin, active: true, avatar: '', syncing: false, synced: 0, created: 1, updated: 1, last_login: 1 }),
    );
    this.http.on('GET', '/api/queue', (req) => {
      const denied = this.authorized(req);
      if (denied) return denied;
      if (this.oss) return json(501, { message: 'Not Implemented' });
      if (!this.admin) return json(403, { message: 'Forbidden' });
      // Drone lists incomplete stages ordered by id; `steps` and friends ride along.
      return json(200, [...this.stages.values()].sort((a, b) => a.id - b.id).map((s) => ({ ...s, steps: [], unknown_future_field: { x: 1 } })));
    });
    // One repository per unfinished build, the build inside (harness/harness handler/api/builds).
    this.http.on('GET', '/api/builds/incomplete', (req) => {
      const denied = this.authorized(req);
      if (denied) return denied;
      if (!this.admin) return json(403, { message: 'Forbidden' });
      const builds = [...new Set([...this.stages.values()].map((s) => s.build_id))];
      return json(200, builds.map((id) => {
        const r = this.repoOf(id);
        return { id: 7, namespace: r.namespace, name: r.name, slug: `${r.namespace}/${r.name}`, build: { id, number: r.number, status: 'running' } };
      }));
    });
    // Restart (drone-go BuildRestart): a new build copied from the old one, whatever its status.
    this.http.on('POST', '/api/repos/:owner/:name/builds/:number', (req, p) => {
      const denied = this.authorized(req);
      if (denied) return denied;
      this.restarts.push(`${p.owner}/${p.name}#${p.number}`);
      return json(200, { id: ++this.nextBuild, number: this.nextBuild, status: 'pending' });
    });
  }

  /** The repository and number a build id belongs to (builds of unknown ids are octocat/hello-world #id). */
  setBuild(buildId: number, repo: { namespace: string; name: string; number: number }): void {
    this.repos.set(buildId, repo);
  }

  private repoOf(buildId: number) {
    return this.repos.get(buildId) ?? { namespace: 'octocat', name: 'hello-world', number: buildId };
  }

  static async start(opts: FakeDroneOptions): Promise<FakeDrone> {
    const d = new FakeDrone(opts);
    await d.http.start();
    return d;
  }

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** Queue a pending stage; returns its id. */
  addStage(s: Partial<FakeDroneStage> = {}): number {
    const id = s.id ?? this.nextId++;
    this.nextId = Math.max(this.nextId, id + 1);
    const now = Math.floor((this.opts.now ?? (() => Date.now() / 1000))());
    this.stages.set(id, {
      id,
      repo_id: 1,
      build_id: id,
      number: 1,
      name: 'default',
      status: 'pending',
      errignore: false,
      exit_code: 0,
      os: 'linux',
      arch: 'amd64',
      started: 0,
      stopped: 0,
      created: now,
      updated: now,
      version: 1,
      on_success: true,
      on_failure: false,
      ...s,
    });
    return id;
  }

  /** A runner (named `machine`) accepted the stage and runs it. */
  startStage(id: number, machine: string, startedUnix?: number): void {
    const s = this.mustGet(id);
    s.status = 'running';
    s.machine = machine;
    s.started = startedUnix ?? s.created;
  }

  /** The stage finished: it leaves the queue, as in Drone. */
  finishStage(id: number): void {
    this.stages.delete(id);
  }

  clear(): void {
    this.stages.clear();
  }

  list(): FakeDroneStage[] {
    return [...this.stages.values()];
  }

  fault(path: '/api/queue' | '/api/user', fault: Fault | undefined): void {
    this.http.fault(path, fault);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private authorized(req: RecordedRequest) {
    return req.headers['authorization'] === `Bearer ${this.opts.token}` ? undefined : json(401, { message: 'Unauthorized' });
  }

  private mustGet(id: number): FakeDroneStage {
    const s = this.stages.get(id);
    if (!s) throw new Error(`fake drone: no stage ${id}`);
    return s;
  }
}
