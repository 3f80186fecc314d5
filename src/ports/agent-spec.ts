/**
 * What the cloud side needs to start the right CI agent on an instance. Built per pool from the
 * CI server's settings (each adapter's `agentSpec`, src/sources/<server>/agent-spec.ts);
 * consumed by the cloud provider.
 * Secrets travel by reference only (SSM parameter or Secrets Manager ARN): never as plain
 * values in a task definition, user data, a log line or the status page.
 */
export interface AgentSpec {
  /** Container image, e.g. drone/drone-runner-docker:1. */
  image: string;
  /** Non-secret environment for the agent container. */
  env: Readonly<Record<string, string>>;
  /** Secret environment: variable name → SSM parameter name/ARN or Secrets Manager ARN. */
  secretRefs: Readonly<Record<string, string>>;
  /** The variable that names the agent to the CI server (DRONE_RUNNER_NAME, ...); the cloud sets it per instance. */
  nameVariable: string;
  /** Seconds the agent gets between SIGTERM and SIGKILL: long enough for a build to finish. */
  stopTimeoutSeconds: number;
  /** The agent needs the host's Docker socket (Drone/Woodpecker docker runners, GoCD docker agents). */
  mountDockerSocket: boolean;
}
