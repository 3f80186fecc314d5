import { describe, expect, it } from 'vitest';
import { loadAwsConfig } from '../../src/cloud/aws/settings.js';

const base = { DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci' };

describe('the replica lease settings', () => {
  it('absent without DDA_AWS_LEASE_TABLE: one daemon, no lease', () => {
    expect(loadAwsConfig(base)?.lease).toBeUndefined();
  });
  it('defaults: a 30 s lease renewed every 10 s', () => {
    expect(loadAwsConfig({ ...base, DDA_AWS_LEASE_TABLE: 'dda-lease' })?.lease).toEqual({ table: 'dda-lease', durationSeconds: 30, renewSeconds: 10 });
  });
  it.each([
    [{ DDA_AWS_LEASE_TABLE: 'x' }, /^DDA_AWS_LEASE_TABLE: expected a DynamoDB table name/],
    [{ DDA_AWS_LEASE_TABLE: 'dda-lease', DDA_AWS_LEASE_SECONDS: 'soon' }, /^DDA_AWS_LEASE_SECONDS: expected a whole number/],
    [{ DDA_AWS_LEASE_TABLE: 'dda-lease', DDA_AWS_LEASE_SECONDS: '10', DDA_AWS_LEASE_RENEW_SECONDS: '6' }, /^DDA_AWS_LEASE_RENEW_SECONDS: must be at most half of DDA_AWS_LEASE_SECONDS \(10\), got 6$/],
  ])('%o: one line naming the variable', (vars, message) => {
    expect(() => loadAwsConfig({ ...base, ...vars })).toThrow(message);
  });
});
