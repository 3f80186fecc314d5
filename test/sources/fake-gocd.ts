import { FakeHttpServer, json, type Fault, type RecordedRequest, type Reply } from './fake-http.js';

/**
 * A GoCD server as the daemon sees it, under `/go`: the scheduled-jobs XML feed (shaped like
 * gocd/gocd `JobPlanXmlRepresenter`: `<scheduledJobs><job name>` with links, `buildLocator`,
 * optional `environment`, CDATA `resources`, `environmentVariables`) and agents API v7
 * (`AgentRepresenter`: `_embedded.agents[]`, environments as objects). The v7 API answers 404
 * to another media type, as GoCD does.
 */

export interface FakeJob {
  name: string;
  buildLocator: string;
  environment?: string;
  resources?: string[];
}

export interface FakeGocdAgent {
  uuid: string;
  hostname: string;
  agent_config_state: 'Pending' | 'Enabled' | 'Disabled';
  agent_state: 'Idle' | 'Building' | 'LostContact' | 'Missing' | 'Unknown';
  resources: string[];
  environments: string[];
}

export type GocdAuth = { token: string } | { user: string; password: string };

export class FakeGocd {
  readonly http = new FakeHttpServer();
  jobs: FakeJob[] = [];
  agents: FakeGocdAgent[] = [];
  /** Before 20.6 only the older feed path exists. */
  legacyFeedOnly = false;

  private constructor(private readonly auth: GocdAuth) {
    const feed = (req: RecordedRequest): Reply => this.authorize(req) ?? { status: 200, body: this.feedXml(), contentType: 'application/xml' };
    this.http.on('GET', '/go/api/feed/jobs/scheduled.xml', (req) => (this.legacyFeedOnly ? { status: 404, body: '<html>Not found</html>', contentType: 'text/html' } : feed(req)));
    this.http.on('GET', '/go/api/jobs/scheduled.xml', feed);
    this.http.on('GET', '/go/api/agents', (req) => this.authorize(req) ?? this.v7(req) ?? json(200, this.agentsJson()));
    this.http.on('PATCH', '/go/api/agents/:uuid', (req, p) => {
      const denied = this.authorize(req) ?? this.v7(req);
      if (denied) return denied;
      if (req.headers['content-type'] !== 'application/json') return json(415, { message: 'Expected content-type application/json' });
      const agent = this.agents.find((a) => a.uuid === p['uuid']);
      if (!agent) return json(404, { message: 'Agent not found.' });
      const body = JSON.parse(req.body) as { agent_config_state?: FakeGocdAgent['agent_config_state'] };
      if (body.agent_config_state) agent.agent_config_state = body.agent_config_state;
      return json(200, agentJson(agent));
    });
    this.http.on('DELETE', '/go/api/agents/:uuid', (req, p) => {
      const denied = this.authorize(req) ?? this.v7(req);
      if (denied) return denied;
      const agent = this.agents.find((a) => a.uuid === p['uuid']);
      if (!agent) return json(404, { message: 'Agent not found.' });
      if (agent.agent_config_state !== 'Disabled' || agent.agent_state === 'Building') {
        return json(406, { message: 'Failed to delete an agent, as it is not in a disabled state or is still building.' });
      }
      this.agents = this.agents.filter((a) => a !== agent);
      return json(200, { message: 'Deleted 1 agent(s).' });
    });
  }

  static async start(auth: GocdAuth): Promise<FakeGocd> {
    const g = new FakeGocd(auth);
    await g.http.start();
    return g;
  }

  /** Base URL ending in /go, as GOCD_SERVER_URL. */
  get url(): string {
    return `${this.http.url}/go`;
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

  feedXml(): string {
    const base = this.http.url;
    const jobs = this.jobs.map((j, i) => {
      const env = j.environment ? `\n    <environment>${j.environment}</environment>` : '';
      const res = j.resources?.length ? `\n    <resources>${j.resources.map((r) => `<resource><![CDATA[${r}]]></resource>`).join('')}</resources>` : '';
      return `  <job name="${j.name}" id="${100 + i}">
    <link rel="self" href="${base}/go/api/jobs/${100 + i}.xml"/>
    <link rel="alternate" href="${base}/go/tab/build/detail/${j.buildLocator}" title="${j.name} Job Detail" type="text/html"/>
    <buildLocator>${j.buildLocator}</buildLocator>${env}${res}
    <environmentVariables><variable name="SECRET">****</variable></environmentVariables>
  </job>`;
    });
    return `<?xml version="1.0" encoding="UTF-8"?>\n<scheduledJobs>\n${jobs.join('\n')}\n</scheduledJobs>\n`;
  }

  private agentsJson(): unknown {
    const base = this.http.url;
    return {
      _links: { self: { href: `${base}/go/api/agents` }, doc: { href: 'https://api.gocd.org/current/#agents' } },
      _embedded: { agents: this.agents.map(agentJson) },
    };
  }

  private authorize(req: RecordedRequest): Reply | undefined {
    const expected = 'token' in this.auth ? `Bearer ${this.auth.token}` : `Basic ${Buffer.from(`${this.auth.user}:${this.auth.password}`).toString('base64')}`;
    return req.headers['authorization'] === expected ? undefined : json(401, { message: 'You are not authenticated!' });
  }

  private v7(req: RecordedRequest): Reply | undefined {
    return req.headers['accept'] === 'application/vnd.go.cd.v7+json' ? undefined : json(404, { message: 'The url you are trying to reach appears to be incorrect.' });
  }
}

function agentJson(a: FakeGocdAgent): unknown {
  return {
    _links: { self: { href: `/go/api/agents/${a.uuid}` } },
    uuid: a.uuid,
    hostname: a.hostname,
    ip_address: '10.0.0.1',
    sandbox: '/godata',
    operating_system: 'Ubuntu 24.04',
    agent_config_state: a.agent_config_state,
    agent_state: a.agent_state,
    agent_version: '25.3.0',
    agent_bootstrapper_version: '25.3.0',
    environments: a.environments.map((name) => ({ name, origin: { type: 'gocd', _links: {} } })),
    build_state: a.agent_state === 'Building' ? 'Building' : 'Idle',
    free_space: 1_000_000,
    ...(a.agent_state === 'Building' ? { build_details: { _links: {}, pipeline_name: 'p', stage_name: 's', job_name: 'j' } } : {}),
    resources: a.resources,
  };
}
