import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { loadConfigFile } from '../../src/config/load.js';
import { nearestName } from '../../src/config/suggest.js';
import { DdaError } from '../../src/domain/errors.js';

function problem(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(DdaError);
    expect((e as DdaError).code).toBe('CONFIG_INVALID');
    expect((e as DdaError).message).not.toContain('\n');
    return (e as DdaError).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'dda-')), 'x.json');
  writeFileSync(path, text);
  return path;
};

describe('nearestName', () => {
  it.each([
    ['pool', ['pools', 'planner', 'lifecycle', 'runtime', 'simulatedCloud'], 'pools'],
    ['idleGracSeconds', ['idleGraceSeconds', 'idleKeepMaxSeconds', 'idleRule'], 'idleGraceSeconds'],
    ['IdleGraceSeconds', ['idleGraceSeconds', 'idleRule'], 'idleGraceSeconds'],
    ['DRONE_SERVR_HOST', ['DRONE_SERVER_HOST', 'DRONE_SERVER_PROTO', 'DRONE_RPC_HOST'], 'DRONE_SERVER_HOST'],
    ['DDA_LOG_LEVL', ['DDA_LOG_LEVEL', 'DDA_HTTP_LISTEN'], 'DDA_LOG_LEVEL'],
    ['frobnicate', ['pools', 'planner', 'runtime'], undefined],
    ['DRONE_BUILD_NUMBER', ['DRONE_SERVER_HOST', 'DRONE_RPC_HOST', 'DRONE_AGENT_IMAGE'], undefined],
    ['x', [], undefined],
  ])('%s → %s', (name, known, nearest) => {
    expect(nearestName(name, known)).toBe(nearest);
  });
});

describe('the settings file is strict', () => {
  it.each([
    [{ pool: [] }, 'x: unknown key "pool" — did you mean "pools"?'],
    [{ planner: { idleGracSeconds: 5 } }, 'x: unknown key "planner.idleGracSeconds" — did you mean "planner.idleGraceSeconds"?'],
    [{ pools: [{ name: 'a' }, { nme: 'b' }] }, 'x: unknown key "pools[1].nme" — did you mean "pools[1].name"?'],
    [{ pools: [{ name: 'a', demand: { lables: { gpu: 'yes' } } }] }, 'x: unknown key "pools[0].demand.lables" — did you mean "pools[0].demand.labels"?'],
    [{ pools: [{ name: 'a', warmPool: { sise: 2 } }] }, 'x: unknown key "pools[0].warmPool.sise" — did you mean "pools[0].warmPool.size"?'],
    [{ runtime: { frobnicate: 1 } }, 'x: unknown key "runtime.frobnicate" (known here: queuePollSeconds, queuePollBusySeconds, fleetPollSeconds, fleetPollFastSeconds, fleetPollRegisteringSeconds, tickSeconds, pollTimeoutSeconds, pollRetries, retryBaseSeconds, commandTimeoutSeconds, shutdownTimeoutSeconds, reapSeconds, reapMaxShare, daemonId)'],
  ])('%j: %s', (input, message) => {
    expect(problem(() => parseConfig(input, 'x'))).toBe(message);
  });

  it('an unknown key is named before the problem it causes (a misspelt required key)', () => {
    expect(problem(() => parseConfig({ pools: [{ nmae: 'a' }] }, 'x'))).toBe('x: unknown key "pools[0].nmae" — did you mean "pools[0].name"?');
  });

  it('labels stay free-form: any label name is a label', () => {
    expect(parseConfig({ pools: [{ name: 'a', demand: { labels: { anything: 'goes' } } }] }).pools[0]!.demand.labels).toEqual({ anything: 'goes' });
  });

  it.each([
    [{ planner: { maxInstances: 'many' } }, 'x: planner.maxInstances: expected a number, not a string'],
    [{ planner: { maxInstances: 2.5 } }, 'x: planner.maxInstances: expected a whole number, not 2.5'],
    [{ planner: { budgetPerHour: -1 } }, 'x: planner.budgetPerHour: must be at least 0'],
    [{ planner: { idleRule: 'never' } }, 'x: planner.idleRule: must be one of "expected-cost", "grace"'],
    [{ pools: [] }, 'x: pools: must hold at least 1 item'],
    [{ pools: [{}] }, 'x: pools[0].name: required'],
    [{ pools: [{ name: 'Big Pool' }] }, 'x: pools[0].name: lowercase letters, digits and dashes, at most 40'],
    [{ pools: [{ name: 'a', warmPool: { size: 'lots' } }] }, 'x: pools[0].warmPool.size: must be a whole number (0 or more) or "auto"'],
    [{ runtime: { daemonId: 'a b' } }, 'x: runtime.daemonId: letters, digits, ".", "_" and "-" only, at most 64'],
    [{ simulatedCloud: { bootstrapSeconds: [90] } }, 'x: simulatedCloud.bootstrapSeconds: must be [low, high]: two numbers of seconds, 0 or more'],
    [{ simulatedCloud: { bootstrapSeconds: [90, 40] } }, 'x: simulatedCloud.bootstrapSeconds: the first bound is above the second ([low, high] seconds)'],
    [{ simulatedCloud: { vmStartSeconds: [30, 20] } }, 'x: simulatedCloud.vmStartSeconds: the first bound is above the second ([low, high] seconds)'],
    [null, 'x: expected an object, not null'],
  ])('%j: %s', (input, message) => {
    expect(problem(() => parseConfig(input, 'x'))).toBe(message);
  });

  it('a value in a message is a number at most, never a string given (it could be a pasted secret)', () => {
    expect(problem(() => parseConfig({ runtime: { daemonId: 'tok-s3cret value' } }))).not.toContain('s3cret');
    expect(problem(() => parseConfig({ planner: { idleRule: 'tok-s3cret' } }))).not.toContain('s3cret');
  });

  it('parseConfig() with nothing is the defaults', () => {
    expect(parseConfig(undefined)).toEqual(parseConfig({}));
  });
});

describe('loadConfigFile', () => {
  it.each([
    ['null', 'holds null'],
    ['[]', 'holds a list'],
    ['42', 'holds a number'],
    ['"pools"', 'holds a string'],
  ])('a file holding %s is refused, not taken for the defaults', (text, what) => {
    const path = file(text);
    expect(problem(() => loadConfigFile(path))).toBe(`config file ${path}: ${what}; it must hold a JSON object such as {"pools": [{"name": "default"}]} (every key optional)`);
  });

  it('names the file in every problem', () => {
    const path = file(JSON.stringify({ planner: { idleGracSeconds: 5 } }));
    expect(problem(() => loadConfigFile(path))).toBe(`config file ${path}: unknown key "planner.idleGracSeconds" — did you mean "planner.idleGraceSeconds"?`);
  });

  it('{} is the defaults', () => {
    expect(loadConfigFile(file('{}'))).toEqual(parseConfig({}));
  });
});

describe("the warm pool's schedule and market", () => {
  const withWarm = (warmPool: unknown) => ({ pools: [{ name: 'a', warmPool }] });
  const win = { days: 'mon-fri', from: '08:00', to: '18:00', size: 3 };
  it.each([
    [withWarm({ schedule: [{ ...win, sise: 3 }] }), 'x: unknown key "pools[0].warmPool.schedule[0].sise" — did you mean "pools[0].warmPool.schedule[0].size"?'],
    [withWarm({ schedule: [{ ...win, timeZone: 'UTC' }] }), 'x: unknown key "pools[0].warmPool.schedule[0].timeZone" — did you mean "pools[0].warmPool.schedule[0].timezone"?'],
    [withWarm({ schedule: [{ ...win, frobnicate: 1 }] }), 'x: unknown key "pools[0].warmPool.schedule[0].frobnicate" (known here: days, from, to, size, timezone)'],
    [withWarm({ markt: 'spot' }), 'x: unknown key "pools[0].warmPool.markt" — did you mean "pools[0].warmPool.market"?'],
    [withWarm({ schedule: [{ ...win, days: 'weekdays' }] }), 'x: pools[0].warmPool.schedule[0].days: must be days of the week such as "mon-fri", "sat,sun" or "daily"'],
    [withWarm({ schedule: [{ ...win, from: '8:00' }] }), 'x: pools[0].warmPool.schedule[0].from: must be a time "HH:MM" (00:00 to 23:59)'],
    [withWarm({ schedule: [{ ...win, to: '25:00' }] }), 'x: pools[0].warmPool.schedule[0].to: must be a time "HH:MM" (00:00 to 24:00)'],
    [withWarm({ schedule: [{ ...win, to: '08:00' }] }), 'x: pools[0].warmPool.schedule[0].to: from and to are the same time: an empty window'],
    [withWarm({ schedule: [{ ...win, size: -1 }] }), 'x: pools[0].warmPool.schedule[0].size: must be at least 0'],
    [withWarm({ schedule: [{ ...win, size: undefined }] }), 'x: pools[0].warmPool.schedule[0].size: required'],
    [withWarm({ schedule: [{ ...win, timezone: 'Mars/Olympus' }] }), 'x: pools[0].warmPool.schedule[0].timezone: must be an IANA time zone such as "Europe/Berlin"'],
    [withWarm({ schedule: win }), 'x: pools[0].warmPool.schedule: expected a list, not an object'],
    [withWarm({ market: 'reserved' }), 'x: pools[0].warmPool.market: must be one of "on-demand", "spot"'],
  ])('%j: %s', (input, message) => {
    expect(problem(() => parseConfig(input, 'x'))).toBe(message);
  });

  it('defaults: no schedule, on-demand; a window gets the UTC time zone', () => {
    expect(parseConfig(withWarm({})).pools[0]!.warmPool).toMatchObject({ schedule: [], market: 'on-demand' });
    expect(parseConfig(withWarm({ schedule: [win], market: 'spot' })).pools[0]!.warmPool).toMatchObject({ schedule: [{ ...win, timezone: 'UTC' }], market: 'spot' });
  });
});
