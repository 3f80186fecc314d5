import { z } from 'zod';
import type { QueueSource } from '../../../src/ports/queue-source.js';
import type { SourceDeps } from '../../../src/sources/ci-server.js';
import { httpCall, httpTarget, parseJson } from '../../../src/sources/http/request.js';
import { validate } from '../../../src/sources/http/validate.js';

const jobsSchema = z.array(z.object({ id: z.string(), running: z.boolean(), agent: z.string().optional(), labels: z.record(z.string(), z.string()) }));

/** `GET /api/jobs`: every unfinished job, with its labels and the agent running it. */
export function createStubSource(o: SourceDeps & { server: string; token: string; timeoutMs: number }): QueueSource {
  const target = httpTarget('stub', { ...o, auth: { kind: 'bearer', token: o.token } });
  const jobs = async (signal?: AbortSignal) => validate('stub', '/api/jobs', jobsSchema, parseJson('stub', '/api/jobs', (await httpCall(target, { method: 'GET', path: '/api/jobs', signal })).text));
  return {
    kind: 'stub',
    drainStyle: 'signal',
    async probe(signal) {
      await jobs(signal);
    },
    async poll(signal) {
      const at = o.clock.now();
      const stages = (await jobs(signal)).map((j) => ({
        id: j.id,
        status: j.running ? ('running' as const) : ('pending' as const),
        demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: j.labels },
        createdAt: at,
        ...(j.agent ? { agent: j.agent } : {}),
      }));
      return { at, stages };
    },
    async drainAgent() {},
    async forgetAgent() {},
  };
}
