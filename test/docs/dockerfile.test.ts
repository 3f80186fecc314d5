import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/cli/paths.js';

/**
 * The Dockerfile's promises, read from its text so `npm test` sees a regression without a
 * container engine. scripts/container-check.sh (`npm run container:check`) builds the image and
 * checks the same things on it, running.
 */
const dockerfile = readFileSync(join(projectRoot(), 'Dockerfile'), 'utf8');
const lines = dockerfile.split('\n').filter((l) => !l.startsWith('#'));
const instructions = lines.join('\n').replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '');
const all = (kw: string) => instructions.filter((l) => l.startsWith(`${kw} `));

describe('Dockerfile', () => {
  it('has a base that a build argument overrides, Node 22 by default, for both stages', () => {
    expect(instructions[0]).toBe('ARG BASE_IMAGE=node:22-bookworm-slim');
    expect(all('FROM')).toEqual(['FROM ${BASE_IMAGE} AS build', 'FROM ${BASE_IMAGE}']);
  });

  it('runs as a non-root user given by number, under tini', () => {
    const user = all('USER').at(-1);
    expect(user).toMatch(/^USER [1-9]\d*:[1-9]\d*$/);
    expect(all('ENTRYPOINT')).toEqual(['ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/cli/main.js"]']);
  });

  it('exposes the port it listens on, and checks its health there without curl', () => {
    const env = all('ENV').join(' ');
    const port = /DDA_HTTP_LISTEN=0\.0\.0\.0:(\d+)/.exec(env)?.[1];
    expect(port).toBeDefined();
    expect(all('EXPOSE')).toEqual([`EXPOSE ${port}`]);
    expect(all('HEALTHCHECK')).toHaveLength(1);
    expect(all('HEALTHCHECK')[0]).toMatch(/CMD \["node", "dist\/src\/cli\/main\.js", "healthcheck"\]$/);
    expect(dockerfile).not.toMatch(/curl|wget/);
  });

  it('refuses to replay the demo when no CI server is configured', () => {
    expect(all('ENV').join(' ')).toMatch(/\bDDA_REQUIRE_CI_SERVER=true\b/);
  });

  it('carries the OCI labels', () => {
    const labels = all('LABEL').join(' ');
    for (const k of ['title', 'description', 'version', 'revision', 'created', 'licenses']) expect(labels).toContain(`org.opencontainers.image.${k}=`);
  });

  it('shows a docker run with every variable the daemon requires, in its header and in the docs', () => {
    const required = ['DRONE_SERVER_HOST', 'DRONE_SERVER_TOKEN', 'DRONE_RPC_SECRET_REF', 'DDA_ECS_CLUSTER', 'DDA_AWS_REGION', 'DDA_HTTP_TOKEN'];
    const header = dockerfile.slice(0, dockerfile.indexOf('ARG '));
    const deploy = readFileSync(join(projectRoot(), 'docs', 'deploy.md'), 'utf8');
    const dockerRun = /```sh\n(docker run[^`]*)```/.exec(deploy)?.[1] ?? '';
    for (const v of required) {
      expect(header).toContain(`-e ${v}=`);
      expect(dockerRun).toContain(`${v}`);
    }
  });
});
