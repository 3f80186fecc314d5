import { expect } from 'vitest';
import { DdaError } from '../../src/domain/errors.js';

/** A complete environment for each CI server (secrets by reference, as the daemon requires). */
export const DRONE_SECRET_REF = '/ci/drone/rpc-secret';
export const droneEnv = { DRONE_SERVER_HOST: 'drone.example.com', DRONE_SERVER_TOKEN: 'tok-abc-123', DRONE_RPC_SECRET_REF: DRONE_SECRET_REF };
export const woodpeckerEnv = { WOODPECKER_SERVER: 'https://ci.example.com', WOODPECKER_TOKEN: 'wp-tok-9', WOODPECKER_GRPC_ADDR: 'ci.example.com:9000', WOODPECKER_AGENT_SECRET_REF: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:wp-agent-AbCdEf' };
export const gocdEnv = { GOCD_SERVER_URL: 'https://gocd.example.com/go', GOCD_TOKEN: 'gocd-tok-7', GOCD_AUTO_REGISTER_KEY_REF: 'arn:aws:ssm:eu-west-1:123456789012:parameter/gocd/key', GOCD_AGENT_IMAGE: 'gocd/gocd-agent-ubuntu-24.04:v25.3.0' };

/** The CONFIG_INVALID that `load` throws; fails the test on success or any other error. */
export function configError(load: () => unknown): DdaError {
  try {
    load();
  } catch (e) {
    if (e instanceof DdaError) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

/** One line, starting with the variable's name. */
export function expectNamed(e: DdaError, variable: string): void {
  expect(e.code).toBe('CONFIG_INVALID');
  expect(e.message.startsWith(`${variable}:`), e.message).toBe(true);
  expect(e.message).not.toContain('\n');
}
