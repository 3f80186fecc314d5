import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import type { AgentSpec } from '../../ports/agent-spec.js';
import { TAG } from './tags.js';

/** ECS refuses a container stopTimeout above this (EC2 launch type included). */
export const ECS_MAX_STOP_TIMEOUT_SECONDS = 120;
export const AGENT_CONTAINER = 'agent';
const DOCKER_SOCKET = '/var/run/docker.sock';

export interface TaskDefinitionInput {
  daemonId: string;
  pool: string;
  spec: AgentSpec;
  executionRoleArn?: string;
  memoryMiB: number;
  networkMode: 'host' | 'bridge';
}

/** One family per (daemon, pool); ECS family names allow letters, digits, - and _. */
export function taskFamily(daemonId: string, pool: string): string {
  return `dda-${daemonId}-${pool}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 255);
}

/** Changes whenever anything that goes into the definition changes: the cue to re-register. */
export function specHash(input: TaskDefinitionInput): string {
  const { spec } = input;
  const canonical = JSON.stringify({
    image: spec.image,
    env: Object.entries(spec.env).sort(),
    secrets: Object.entries(spec.secretRefs).sort(),
    nameVariable: spec.nameVariable,
    stop: spec.stopTimeoutSeconds,
    sock: spec.mountDockerSocket,
    role: input.executionRoleArn ?? '',
    mem: input.memoryMiB,
    net: input.networkMode,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * Secrets go in as `valueFrom` references only; ECS resolves them on the instance with the
 * execution role, so no plain value is ever stored in the definition.
 *
 * Stop timeout: a task-definition stopTimeout is capped at 120 s. When the agent needs more (a
 * Drone runner finishing a build after SIGTERM), we leave stopTimeout out, and the instance's
 * ECS_CONTAINER_STOP_TIMEOUT (written by user data from the same spec) applies instead.
 */
export function buildTaskDefinition(input: TaskDefinitionInput): RegisterTaskDefinitionCommandInput {
  const { spec } = input;
  if (Object.keys(spec.secretRefs).length > 0 && !input.executionRoleArn) {
    throw new Error('the agent has secret references but no task execution role is configured (DDA_TASK_EXECUTION_ROLE)');
  }
  const stop = Math.floor(spec.stopTimeoutSeconds);
  return {
    family: taskFamily(input.daemonId, input.pool),
    requiresCompatibilities: ['EC2'],
    networkMode: input.networkMode,
    executionRoleArn: input.executionRoleArn,
    volumes: spec.mountDockerSocket ? [{ name: 'docker-socket', host: { sourcePath: DOCKER_SOCKET } }] : [],
    containerDefinitions: [
      {
        name: AGENT_CONTAINER,
        image: spec.image,
        essential: true,
        memory: input.memoryMiB,
        environment: Object.entries(spec.env)
          .filter(([k]) => k !== spec.nameVariable)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, value]) => ({ name, value })),
        secrets: Object.entries(spec.secretRefs)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, valueFrom]) => ({ name, valueFrom })),
        stopTimeout: stop > 0 && stop <= ECS_MAX_STOP_TIMEOUT_SECONDS ? stop : undefined,
        mountPoints: spec.mountDockerSocket ? [{ sourceVolume: 'docker-socket', containerPath: DOCKER_SOCKET }] : [],
      },
    ],
    tags: [
      { key: TAG.daemon, value: input.daemonId },
      { key: TAG.pool, value: input.pool },
      { key: 'dda:spec', value: specHash(input) },
    ],
  };
}
