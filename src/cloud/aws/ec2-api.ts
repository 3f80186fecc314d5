import {
  CancelSpotInstanceRequestsCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  paginateDescribeInstances,
  paginateDescribeSpotInstanceRequests,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
  type SpotInstanceRequest,
} from '@aws-sdk/client-ec2';
import { allPages, type PageSizes } from './all-pages.js';

/** One instance per call: the daemon launches per actor. */
export type RunInput = Omit<RunInstancesCommandInput, 'MinCount' | 'MaxCount'>;

/**
 * EC2 cut down to the calls the daemon makes, so tests can put a fake in its place and
 * inject the errors moto cannot produce (InsufficientInstanceCapacity and friends).
 * Implementations throw whatever the SDK throws; the provider maps errors in one place
 * (errors.ts).
 */
export interface Ec2Api {
  runInstance(input: RunInput, signal?: AbortSignal): Promise<Instance>;
  /** All pages. */
  describeInstances(query: { filters?: Filter[]; instanceIds?: string[] }, signal?: AbortSignal): Promise<Instance[]>;
  terminateInstances(instanceIds: string[], signal?: AbortSignal): Promise<void>;
  describeSpotInstanceRequests(instanceIds: string[], signal?: AbortSignal): Promise<SpotInstanceRequest[]>;
  /** Warm spot: a persistent request is cancelled before its instance is terminated, or EC2 relaunches it. */
  cancelSpotInstanceRequests(requestIds: string[], signal?: AbortSignal): Promise<void>;
  /** Warm pool: park (stop) and start one instance. */
  stopInstance(instanceId: string, signal?: AbortSignal): Promise<void>;
  startInstance(instanceId: string, signal?: AbortSignal): Promise<void>;
  /** Set (overwrite) tags on one instance. */
  createTags(instanceId: string, tags: Record<string, string>, signal?: AbortSignal): Promise<void>;
  /** Remove tags by key, whatever their value. */
  deleteTags(instanceId: string, keys: string[], signal?: AbortSignal): Promise<void>;
}

/** `pageSize`: DescribeInstances' MaxResults (AWS allows 5–1000; default 500). */
export function sdkEc2Api(client: EC2Client, opts: PageSizes = {}): Ec2Api {
  const send = (signal?: AbortSignal) => ({ abortSignal: signal });
  return {
    async runInstance(input, signal) {
      const out = await client.send(new RunInstancesCommand({ ...input, MinCount: 1, MaxCount: 1 }), send(signal));
      const inst = out.Instances?.[0];
      if (!inst?.InstanceId) throw Object.assign(new Error('RunInstances answered without an instance'), { name: 'EmptyResponse' });
      return inst;
    },
    async describeInstances(query, signal) {
      const pages = paginateDescribeInstances(
        // MaxResults cannot be combined with InstanceIds.
        { client, pageSize: query.instanceIds ? undefined : (opts.pageSize ?? 500) },
        { Filters: query.filters, InstanceIds: query.instanceIds },
        send(signal),
      );
      return allPages(pages, (p) => (p.Reservations ?? []).flatMap((r) => r.Instances ?? []));
    },
    async terminateInstances(instanceIds, signal) {
      await client.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }), send(signal));
    },
    async describeSpotInstanceRequests(instanceIds, signal) {
      if (instanceIds.length === 0) return [];
      // By instance-id filter, not request id: a filter never fails with NotFound for a request
      // that has aged out.
      const pages = paginateDescribeSpotInstanceRequests({ client }, { Filters: [{ Name: 'instance-id', Values: instanceIds }] }, send(signal));
      return allPages(pages, (p) => p.SpotInstanceRequests);
    },
    async cancelSpotInstanceRequests(requestIds, signal) {
      await client.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: requestIds }), send(signal));
    },
    async stopInstance(instanceId, signal) {
      await client.send(new StopInstancesCommand({ InstanceIds: [instanceId] }), send(signal));
    },
    async startInstance(instanceId, signal) {
      await client.send(new StartInstancesCommand({ InstanceIds: [instanceId] }), send(signal));
    },
    async createTags(instanceId, tags, signal) {
      await client.send(new CreateTagsCommand({ Resources: [instanceId], Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }), send(signal));
    },
    async deleteTags(instanceId, keys, signal) {
      await client.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: keys.map((Key) => ({ Key })) }), send(signal));
    },
  };
}
