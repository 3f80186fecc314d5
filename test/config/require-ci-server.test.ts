import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/config.js';
import { checkCiServerRequired, effectiveSettings, loadEnvironment } from '../../src/cli/settings.js';

/** DDA_REQUIRE_CI_SERVER, which the container image sets: no CI server is one line, not the demo. */
describe('DDA_REQUIRE_CI_SERVER', () => {
  const drone = { DRONE_SERVER_HOST: 'drone.example.com', DRONE_SERVER_TOKEN: 'tok-never-shown', DRONE_RPC_SECRET_REF: '/ci/drone/rpc' };
  const check = (env: Record<string, string>) => () => checkCiServerRequired(loadEnvironment(env, defaultConfig()));

  it('refuses to run without a CI server, saying what to set', () => {
    expect(check({ DDA_REQUIRE_CI_SERVER: 'true' })).toThrow(
      "DRONE_SERVER_HOST (or WOODPECKER_SERVER, or GOCD_SERVER_URL): required: no CI server is configured, and DDA_REQUIRE_CI_SERVER (set in the container image) refuses the demo replay; set the CI server's variables (Drone: DRONE_SERVER_HOST, DRONE_SERVER_TOKEN, DRONE_RPC_SECRET_REF; see docs/ci-servers.md and docs/deploy.md)",
    );
  });

  it.each([[{}], [{ DDA_REQUIRE_CI_SERVER: 'false' }], [{ ...drone, DDA_REQUIRE_CI_SERVER: '1' }]])('lets %j run', (env) => {
    expect(check(env)).not.toThrow();
  });

  it('is true or false', () => {
    expect(check({ DDA_REQUIRE_CI_SERVER: 'yes' })).toThrow('DDA_REQUIRE_CI_SERVER: must be true or false');
  });

  it('config says run would refuse', () => {
    expect(effectiveSettings(defaultConfig(), loadEnvironment({ DDA_REQUIRE_CI_SERVER: 'true' }, defaultConfig())).mode).toMatch(/^refused/);
  });
});
