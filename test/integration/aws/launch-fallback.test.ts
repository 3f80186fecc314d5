import type { Instance } from '@aws-sdk/client-ec2';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AwsCloudProvider } from '../../../src/cloud/aws/provider.js';
import type { Ec2Api, RunInput } from '../../../src/cloud/aws/ec2-api.js';
import type { EcsApi } from '../../../src/cloud/aws/ecs-api.js';
import { clientToken, runInstancesInput } from '../../../src/cloud/aws/launch.js';
import type { AwsConfig } from '../../../src/cloud/aws/settings.js';
import { isDdaError } from '../../../src/domain/errors.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import { droneSpec, manualClock, testAwsConfig } from './support.js';

/** The SDK is faked here: nothing listens at this endpoint. */
const NO_AWS = { endpoint: 'http://127.0.0.1:1', region: 'us-east-1' };

/**
 * moto cannot run out of capacity, so the fallback is driven through a fake Ec2Api that fails
 * chosen (market, type, subnet) combinations with the error names AWS uses.
 */
function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name}: simulated`), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

class FakeEc2 implements Ec2Api {
  calls: RunInput[] = [];
  failures = new Map<string, string>();
  private n = 0;
  static where(market: string, type: string, subnet = '-'): string {
    return `${market}|${type}|${subnet}`;
  }
  async runInstance(input: RunInput): Promise<Instance> {
    this.calls.push(input);
    const market = input.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand';
    const fail = this.failures.get(FakeEc2.where(market, String(input.InstanceType), input.SubnetId ?? '-')) ?? this.failures.get(FakeEc2.where(market, '*'));
    if (fail) throw awsError(fail);
    this.n++;
    return { InstanceId: `i-${String(this.n).padStart(17, '0')}`, InstanceType: input.InstanceType, LaunchTime: new Date(Date.UTC(2025, 0, 1)), InstanceLifecycle: market === 'spot' ? 'spot' : undefined };
  }
  async describeInstances(): Promise<Instance[]> {
    return [];
  }
  async terminateInstances(): Promise<void> {}
  async cancelSpotInstanceRequests() {}
  async describeSpotInstanceRequests() {
    return [];
  }
  async stopInstance(): Promise<void> {}
  async startInstance(): Promise<void> {}
  async createTags(): Promise<void> {}
  async deleteTags(): Promise<void> {}
  tried(): string[] {
    return this.calls.map((c) => `${c.InstanceMarketOptions?.MarketType === 'spot' ? 'spot' : 'on-demand'}/${c.InstanceType}/${c.SubnetId}`);
  }
}

const noEcs = new Proxy({} as EcsApi, {
  get: () => () => Promise.reject(new Error('ECS is not part of launch')),
});

function setup(cfg: Partial<AwsConfig>) {
  const ec2 = new FakeEc2();
  const clock = manualClock();
  const provider = new AwsCloudProvider({
    cfg: testAwsConfig(NO_AWS, { subnets: ['subnet-0000000a', 'subnet-0000000b'], instanceTypes: ['c6i.large', 'c5.large'], ...cfg }),
    ec2,
    ecs: noEcs,
    clock,
    logger: pino({ level: 'silent' }),
    daemonId: 'd1',
    agents: () => droneSpec(),
  });
  return { ec2, clock, provider };
}

const req = (key: string) => ({ key, pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1 });

describe('launch fallback (fake EC2)', () => {
  it('moves to the next subnet, then the next type, on capacity errors', async () => {
    const { ec2, provider } = setup({ market: 'on-demand' });
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large', 'subnet-0000000a'), 'InsufficientInstanceCapacity');
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large', 'subnet-0000000b'), 'Unsupported');
    const r = await provider.launch(req('k1'));
    expect(ec2.tried()).toEqual(['on-demand/c6i.large/subnet-0000000a', 'on-demand/c6i.large/subnet-0000000b', 'on-demand/c5.large/subnet-0000000a']);
    expect(r).toMatchObject({ instanceType: 'c5.large', market: 'on-demand', pricePerHour: 0.1 });
  });

  it('remembers failed candidates for the backoff, then tries them again', async () => {
    const { ec2, clock, provider } = setup({ market: 'on-demand', capacityBackoffSeconds: 300 });
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large', 'subnet-0000000a'), 'InsufficientInstanceCapacity');
    await provider.launch(req('k1'));
    ec2.calls = [];
    await provider.launch(req('k2'));
    expect(ec2.tried()).toEqual(['on-demand/c6i.large/subnet-0000000b']);
    clock.advance(301_000);
    ec2.calls = [];
    ec2.failures.clear();
    await provider.launch(req('k3'));
    expect(ec2.tried()).toEqual(['on-demand/c6i.large/subnet-0000000a']);
  });

  it('falls back from spot to on-demand when every spot candidate fails', async () => {
    const { ec2, provider } = setup({ market: 'spot-then-on-demand' });
    ec2.failures.set(FakeEc2.where('spot', '*'), 'SpotMaxPriceTooLow');
    const r = await provider.launch(req('k1'));
    expect(r.market).toBe('on-demand');
    expect(ec2.tried()).toEqual([
      'spot/c6i.large/subnet-0000000a',
      'spot/c6i.large/subnet-0000000b',
      'spot/c5.large/subnet-0000000a',
      'spot/c5.large/subnet-0000000b',
      'on-demand/c6i.large/subnet-0000000a',
    ]);
  });

  it('treats a limit as covering every subnet, and the spot-count limit as covering every type', async () => {
    const { ec2, provider } = setup({ market: 'spot-then-on-demand' });
    ec2.failures.set(FakeEc2.where('spot', 'c6i.large', 'subnet-0000000a'), 'MaxSpotInstanceCountExceeded');
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large', 'subnet-0000000a'), 'VcpuLimitExceeded');
    const r = await provider.launch(req('k1'));
    expect(ec2.tried()).toEqual(['spot/c6i.large/subnet-0000000a', 'on-demand/c6i.large/subnet-0000000a', 'on-demand/c5.large/subnet-0000000a']);
    expect(r).toMatchObject({ market: 'on-demand', instanceType: 'c5.large' });
  });

  it('stops at once on an error that is not about capacity', async () => {
    const { ec2, provider } = setup({ market: 'on-demand' });
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large', 'subnet-0000000a'), 'InvalidAMIID.Malformed');
    await expect(provider.launch(req('k1'))).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_FAILED'));
    expect(ec2.calls).toHaveLength(1);
  });

  it('reports capacity when everything failed, and does not ask again while remembered', async () => {
    const { ec2, provider } = setup({ market: 'on-demand' });
    ec2.failures.set(FakeEc2.where('on-demand', '*'), 'InsufficientInstanceCapacity');
    await expect(provider.launch(req('k1'))).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_CAPACITY'));
    expect(ec2.calls).toHaveLength(4);
    ec2.calls = [];
    await expect(provider.launch(req('k2'))).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_CAPACITY'));
    expect(ec2.calls).toHaveLength(0);
  });

  it('reports a limit as CLOUD_LIMIT when that was the last failure', async () => {
    const { ec2, provider } = setup({ market: 'on-demand', subnets: [], instanceTypes: ['c6i.large'] });
    ec2.failures.set(FakeEc2.where('on-demand', 'c6i.large'), 'InstanceLimitExceeded');
    await expect(provider.launch(req('k1'))).rejects.toSatisfy((e) => isDdaError(e, 'CLOUD_LIMIT'));
  });
});

describe('RunInstances input', () => {
  const ctx = (cfg: Partial<AwsConfig> = {}) => ({ cfg: testAwsConfig(NO_AWS, cfg), daemonId: 'd1', req: req('actor-7'), userData: '#!/bin/bash\n', now: Date.UTC(2025, 0, 1) });

  it('asks for IMDSv2, terminate-on-shutdown, the root volume, the profile and tags on instance and volume', () => {
    const input = runInstancesInput(ctx({ instanceProfile: 'dda-agent', securityGroups: ['sg-0123456789abcdef0'] }), { instanceType: 'c6i.large', subnet: 'subnet-0000000a', market: 'spot' });
    expect(input.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
    expect(input.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(input.IamInstanceProfile).toEqual({ Name: 'dda-agent' });
    expect(input.SecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
    expect(input.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 40, VolumeType: 'gp3', DeleteOnTermination: true } }]);
    expect(input.InstanceMarketOptions).toMatchObject({ MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } });
    expect(input.TagSpecifications!.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    const arn = runInstancesInput(ctx({ instanceProfile: 'arn:aws:iam::123456789012:instance-profile/dda' }), { instanceType: 'c6i.large', market: 'on-demand' });
    expect(arn.IamInstanceProfile).toEqual({ Arn: 'arn:aws:iam::123456789012:instance-profile/dda' });
    expect(arn.InstanceMarketOptions).toBeUndefined();
  });

  it('defaults to the ECS-optimised image for the pool architecture; configuration wins', () => {
    const base = ctx({ ami: undefined });
    expect(runInstancesInput(base, { instanceType: 'c6i.large', market: 'on-demand' }).ImageId).toBe('resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id');
    const arm = { ...base, req: { ...base.req, demand: { ...DEFAULT_DEMAND, arch: 'arm64' } } };
    expect(runInstancesInput(arm, { instanceType: 'c7g.large', market: 'on-demand' }).ImageId).toContain('/arm64/');
    expect(runInstancesInput(ctx({ ami: 'ami-0abcdef0' }), { instanceType: 'c6i.large', market: 'on-demand' }).ImageId).toBe('ami-0abcdef0');
    expect(runInstancesInput(ctx({ ami: 'ami-0abcdef0', pools: { default: { ami: 'ami-0fedcba9' } } }), { instanceType: 'c6i.large', market: 'on-demand' }).ImageId).toBe('ami-0fedcba9');
  });

  it('uses one client token per (key, candidate): stable on retry, different per fallback step', () => {
    const a = { instanceType: 'c6i.large', subnet: 'subnet-0000000a', market: 'spot' as const };
    const b = { ...a, subnet: 'subnet-0000000b' };
    expect(clientToken('actor-7', a)).toBe(clientToken('actor-7', a));
    expect(clientToken('actor-7', a)).not.toBe(clientToken('actor-7', b));
    expect(clientToken('actor-8', a)).not.toBe(clientToken('actor-7', a));
    expect(clientToken('x'.repeat(200), a).length).toBeLessThanOrEqual(64);
  });
});
