import {
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  paginateListContainerInstances,
  paginateListTasks,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
  type ECSClient,
  type Failure,
  type RegisterTaskDefinitionCommandInput,
  type StartTaskCommandInput,
  type Task,
} from '@aws-sdk/client-ecs';
import { allPages, type PageSizes } from './all-pages.js';

/**
 * ECS cut down to the calls the daemon makes (one cluster). Same contract as Ec2Api: SDK errors
 * pass through; the provider maps them. Per-item failures (ECS answers 200 with `failures`) are
 * returned, not thrown, because only the caller knows which of them matter.
 */
export interface EcsApi {
  registerTaskDefinition(input: RegisterTaskDefinitionCommandInput, signal?: AbortSignal): Promise<{ arn: string }>;
  /** All pages, every status ECS lists by default (ACTIVE and DRAINING). */
  listContainerInstances(signal?: AbortSignal): Promise<string[]>;
  /** Chunks of 100; with tags. */
  describeContainerInstances(arns: string[], signal?: AbortSignal): Promise<{ items: ContainerInstance[]; failures: Failure[] }>;
  updateContainerInstancesState(arns: string[], status: 'ACTIVE' | 'DRAINING', signal?: AbortSignal): Promise<{ failures: Failure[] }>;
  deregisterContainerInstance(arn: string, signal?: AbortSignal): Promise<void>;
  startTask(input: Omit<StartTaskCommandInput, 'cluster'>, signal?: AbortSignal): Promise<{ tasks: Task[]; failures: Failure[] }>;
  stopTask(taskArn: string, reason: string, signal?: AbortSignal): Promise<void>;
  /** All pages. */
  listTasks(query: { startedBy?: string; containerInstance?: string; desiredStatus?: 'RUNNING' | 'STOPPED' }, signal?: AbortSignal): Promise<string[]>;
  /** Chunks of 100. */
  describeTasks(arns: string[], signal?: AbortSignal): Promise<Task[]>;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** `pageSize`: maxResults of the List calls (AWS allows 1–100; default 100). */
export function sdkEcsApi(client: ECSClient, cluster: string, sizes: PageSizes = {}): EcsApi {
  const opts = (signal?: AbortSignal) => ({ abortSignal: signal });
  const pageSize = sizes.pageSize ?? 100;
  return {
    async registerTaskDefinition(input, signal) {
      const out = await client.send(new RegisterTaskDefinitionCommand(input), opts(signal));
      const arn = out.taskDefinition?.taskDefinitionArn;
      if (!arn) throw Object.assign(new Error('RegisterTaskDefinition answered without an ARN'), { name: 'EmptyResponse' });
      return { arn };
    },
    async listContainerInstances(signal) {
      return allPages(paginateListContainerInstances({ client, pageSize }, { cluster }, opts(signal)), (p) => p.containerInstanceArns);
    },
    async describeContainerInstances(arns, signal) {
      const items: ContainerInstance[] = [];
      const failures: Failure[] = [];
      for (const part of chunks(arns, 100)) {
        const out = await client.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: part, include: ['TAGS'] }), opts(signal));
        items.push(...(out.containerInstances ?? []));
        failures.push(...(out.failures ?? []));
      }
      return { items, failures };
    },
    async updateContainerInstancesState(arns, status, signal) {
      const out = await client.send(new UpdateContainerInstancesStateCommand({ cluster, containerInstances: arns, status }), opts(signal));
      return { failures: out.failures ?? [] };
    },
    async deregisterContainerInstance(arn, signal) {
      // force: the instance is gone or going; tasks left on it are stopped by the caller first.
      await client.send(new DeregisterContainerInstanceCommand({ cluster, containerInstance: arn, force: true }), opts(signal));
    },
    async startTask(input, signal) {
      const out = await client.send(new StartTaskCommand({ ...input, cluster }), opts(signal));
      return { tasks: out.tasks ?? [], failures: out.failures ?? [] };
    },
    async stopTask(taskArn, reason, signal) {
      await client.send(new StopTaskCommand({ cluster, task: taskArn, reason }), opts(signal));
    },
    async listTasks(query, signal) {
      const input = { cluster, startedBy: query.startedBy, containerInstance: query.containerInstance, desiredStatus: query.desiredStatus };
      return allPages(paginateListTasks({ client, pageSize }, input, opts(signal)), (p) => p.taskArns);
    },
    async describeTasks(arns, signal) {
      const out: Task[] = [];
      for (const part of chunks(arns, 100)) {
        const page = await client.send(new DescribeTasksCommand({ cluster, tasks: part, include: ['TAGS'] }), opts(signal));
        out.push(...(page.tasks ?? []));
      }
      return out;
    },
  };
}
