import {
  DescribeInstancesCommand,
  DescribeSpotInstanceRequestsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type RunInstancesCommandInput,
  type SpotInstanceRequest,
} from '@aws-sdk/client-ec2';

/** One instance per call: the daemon launches per actor. */
export type RunInput = Omit<RunInstancesCommandInput, 'MinCount' | 'MaxCount'>;

/**
 * EC2 cut down to the four calls the daemon makes, so tests can put a fake in its place and
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
}

export function sdkEc2Api(client: EC2Client): Ec2Api {
  return {
    async runInstance(input, signal) {
      const out = await client.send(new RunInstancesCommand({ ...input, MinCount: 1, MaxCount: 1 }), { abortSignal: signal });
      const inst = out.Instances?.[0];
      if (!inst?.InstanceId) throw Object.assign(new Error('RunInstances answered without an instance'), { name: 'EmptyResponse' });
      return inst;
    },
    async describeInstances(query, signal) {
      const out: Instance[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new DescribeInstancesCommand({
            Filters: query.filters,
            InstanceIds: query.instanceIds,
            NextToken: token,
            // MaxResults cannot be combined with InstanceIds.
            MaxResults: query.instanceIds ? undefined : 500,
          }),
          { abortSignal: signal },
        );
        for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
        token = page.NextToken;
      } while (token);
      return out;
    },
    async terminateInstances(instanceIds, signal) {
      await client.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }), { abortSignal: signal });
    },
    async describeSpotInstanceRequests(instanceIds, signal) {
      if (instanceIds.length === 0) return [];
      const out: SpotInstanceRequest[] = [];
      let token: string | undefined;
      do {
        // By instance-id filter, not request id: a filter never fails with NotFound for a request
        // that has aged out.
        const page = await client.send(
          new DescribeSpotInstanceRequestsCommand({ Filters: [{ Name: 'instance-id', Values: instanceIds }], NextToken: token }),
          { abortSignal: signal },
        );
        out.push(...(page.SpotInstanceRequests ?? []));
        token = page.NextToken;
      } while (token);
      return out;
    },
  };
}
