import type { Demand } from '../domain/pool.js';

/**
 * The CI server's queue, as one snapshot of unfinished work. Implemented by the Drone,
 * Woodpecker and GoCD sources (HTTP) and by the simulator.
 *
 * A poll either returns a complete snapshot or throws a DdaError (SOURCE_*): a failed or
 * garbled poll is *unknown*, never an empty queue. The runtime turns a throw into an
 * `unknown` observation; the planner then holds.
 */
export interface Stage {
  /** Unique within the CI server (stage id, task id, job id). */
  id: string;
  status: 'pending' | 'running';
  demand: Demand;
  /**
   * The agent that holds this stage, by the name we gave it (Drone `stage.machine` ==
   * DRONE_RUNNER_NAME, Woodpecker agent name, GoCD agent hostname). A pending stage with an
   * agent set has already been accepted by that agent and holds one of its slots.
   */
  agent?: string;
  /** When the stage entered the queue (ms epoch). */
  createdAt: number;
  /** When it started running, if it has (ms epoch). */
  startedAt?: number;
  /**
   * The build (pipeline run) this stage belongs to, as the source's `restartBuild` takes it;
   * absent where the server does not say or restarts are not supported.
   */
  build?: string;
}

export interface QueueSnapshot {
  /** The time the snapshot was taken (ms epoch, from the injected clock). */
  at: number;
  stages: Stage[];
}

/**
 * How an agent stops taking work on this CI server.
 * - `signal`: stopping the agent process makes it finish running work and exit (Drone runner
 *   on SIGTERM). Drain = stop the agent task; done when the task has stopped or nothing names
 *   the agent.
 * - `server`: the server is told not to schedule to the agent (Woodpecker `no_schedule`, GoCD
 *   disable); SIGTERM would cancel builds. Done when nothing runs on the agent.
 */
export type DrainStyle = 'signal' | 'server';

export interface QueueSource {
  /** Short name for logs: 'drone', 'woodpecker', 'gocd', 'sim'. */
  readonly kind: string;
  readonly drainStyle: DrainStyle;
  /** Start-up check (credentials, permissions, endpoint present). Throws DdaError with a fix-it message. */
  probe(signal?: AbortSignal): Promise<void>;
  /** One complete snapshot, or a throw. */
  poll(signal?: AbortSignal): Promise<QueueSnapshot>;
  /** Server-side drain of one agent (no-op for `signal` style). Idempotent. */
  drainAgent(agentName: string, signal?: AbortSignal): Promise<void>;
  /** Forget an agent after its machine is gone (delete it from the server). Idempotent. */
  forgetAgent(agentName: string, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: run a build again whose agent the infrastructure took from under it (a stage's
   * `build`). Restarts only a build the server still has unfinished; one that finished is left
   * alone (`restarted: false`). Not idempotent: the caller restarts a build once at most.
   */
  restartBuild?(build: string, signal?: AbortSignal): Promise<BuildRestart>;
}

/** `name`: the build for people (`octocat/hello-world#42`); `next`: the new build's, when the server says. */
export type BuildRestart = { restarted: true; name: string; next?: string } | { restarted: false; name?: string; why: string };
