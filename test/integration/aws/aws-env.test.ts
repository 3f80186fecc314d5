import { describe, expect, it } from 'vitest';
import { loadAwsConfig } from '../../../src/cloud/aws/settings.js';
import { DdaError } from '../../../src/domain/errors.js';

const base = { DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci' };

function problem(env: Record<string, string>): string {
  try {
    loadAwsConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(DdaError);
    expect((e as DdaError).code).toBe('CONFIG_INVALID');
    return (e as DdaError).message;
  }
  throw new Error('expected a configuration error');
}

describe('loadAwsConfig', () => {
  it('is undefined when nothing AWS is configured (the simulated cloud is used)', () => {
    expect(loadAwsConfig({})).toBeUndefined();
    // The SDK's own variables do not switch to AWS: other tools, and ECS itself, set them.
    expect(loadAwsConfig({ AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'sk' })).toBeUndefined();
  });

  it('any DDA_* AWS variable without the cluster or the region names what is missing, not a silent dry run', () => {
    expect(problem({ AWS_REGION: 'eu-west-1', DDA_AMI: 'ami-12345678' })).toBe(
      'DDA_ECS_CLUSTER: required: DDA_AMI is set, so the daemon would use AWS, but DDA_ECS_CLUSTER is not; set it, or unset DDA_AMI to dry-run on the simulated cloud',
    );
    expect(problem({ DDA_SUBNETS: 'subnet-0000000a', DDA_INSTANCE_TYPES: 'c6i.large' })).toBe(
      'DDA_ECS_CLUSTER: required: DDA_INSTANCE_TYPES, DDA_SUBNETS are set, so the daemon would use AWS, but DDA_ECS_CLUSTER and DDA_AWS_REGION (or AWS_REGION) are not; set them, or unset those to dry-run on the simulated cloud',
    );
    expect(problem({ DDA_POOL_X_AMI: 'ami-12345678', DDA_ECS_CLUSTER: 'ci' })).toMatch(/^DDA_AWS_REGION: required: DDA_ECS_CLUSTER, DDA_POOL_X_AMI are set/);
  });

  it('has working defaults once a cluster and region are given', () => {
    expect(loadAwsConfig(base)).toMatchObject({
      region: 'eu-west-1',
      cluster: 'ci',
      ami: undefined,
      instanceTypes: ['c6i.large', 'c5.large', 'm6i.large'],
      subnets: [],
      market: 'spot-then-on-demand',
      volumeSizeGiB: 30,
      volumeType: 'gp3',
      watchdogIdleMinutes: 60,
      watchdogMaxHours: 0,
      agentNetworkMode: 'host',
    });
  });

  it('reads every variable', () => {
    const cfg = loadAwsConfig({
      ...base,
      DDA_AWS_ENDPOINT: 'http://127.0.0.1:5000',
      DDA_AMI: 'ami-0123456789abcdef0',
      DDA_INSTANCE_TYPES: 'c7g.large, c6g.large',
      DDA_SUBNETS: 'subnet-0000000a,subnet-0000000b',
      DDA_SECURITY_GROUPS: 'sg-0000000a',
      DDA_INSTANCE_PROFILE: 'dda-agent',
      DDA_VOLUME_SIZE: '50',
      DDA_MARKET: 'spot',
      DDA_INSTANCE_PRICES: 'c7g.large=0.0725,c6g.large=0.068',
      DDA_TASK_EXECUTION_ROLE: 'arn:aws:iam::123456789012:role/dda-exec',
      DDA_WATCHDOG_IDLE_MINUTES: '0',
      DDA_POOL_ARM_BIG_INSTANCE_TYPES: 'c7g.4xlarge',
    })!;
    expect(cfg).toMatchObject({
      endpoint: 'http://127.0.0.1:5000',
      ami: 'ami-0123456789abcdef0',
      instanceTypes: ['c7g.large', 'c6g.large'],
      subnets: ['subnet-0000000a', 'subnet-0000000b'],
      securityGroups: ['sg-0000000a'],
      instanceProfile: 'dda-agent',
      volumeSizeGiB: 50,
      market: 'spot',
      prices: { 'c7g.large': 0.0725, 'c6g.large': 0.068 },
      watchdogIdleMinutes: 0,
      watchdogMaxHours: 0,
      pools: { 'arm-big': { instanceTypes: ['c7g.4xlarge'] } },
    });
  });

  it('names the variable in a one-line error', () => {
    expect(problem({ DDA_AWS_REGION: 'eu-west-1' })).toMatch(/^DDA_ECS_CLUSTER: required/);
    expect(problem({ DDA_ECS_CLUSTER: 'ci' })).toMatch(/^DDA_AWS_REGION: required/);
    expect(problem({ ...base, DDA_MARKET: 'cheap' })).toMatch(/^DDA_MARKET:/);
    expect(problem({ ...base, DDA_VOLUME_SIZE: 'big' })).toMatch(/^DDA_VOLUME_SIZE:/);
    expect(problem({ ...base, DDA_SUBNETS: 'subnet-1,vpc-2' })).toMatch(/^DDA_SUBNETS: "subnet-1"/);
    expect(problem({ ...base, DDA_AWS_ENDPOINT: 'http://user:pass@127.0.0.1' })).toMatch(/^DDA_AWS_ENDPOINT: must not carry credentials/);
    expect(problem({ ...base, DDA_POOL_X_AMI: 'windows' })).toMatch(/^DDA_POOL_X_AMI:/);
    for (const m of [problem({ ...base, DDA_MARKET: 'x' }), problem({ ...base, DDA_AMI: 'nope' })]) expect(m).not.toContain('\n');
  });
});
