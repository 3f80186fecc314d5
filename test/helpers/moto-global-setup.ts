import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startMoto, type Moto, type SharedMotoInfo } from './moto.js';

/**
 * One moto_server for the whole integration project, on a free loopback port. Test files do not
 * reset it (they would wipe each other's state mid-test); each test leases a region of its own
 * (`leaseMotoRegion` in ./moto.ts) — moto keeps every region apart.
 *
 * If moto cannot start, the project still runs: the error (with the install hint) is handed to
 * the tests, and every test that leases a region fails with it, while the tests that need no
 * cloud go on.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let moto: Moto | undefined;
  let error = '';
  try {
    moto = await startMoto();
    // Tasks stay where they are put (StartTask → RUNNING, StopTask → STOPPED), as a real agent
    // host would move them, instead of advancing one status per DescribeTasks call. This
    // setting is global in moto, not per region.
    await moto.manualEcsTasks();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    await moto?.stop();
    moto = undefined;
  }
  const leases = mkdtempSync(join(tmpdir(), 'dda-moto-leases-'));
  const info: SharedMotoInfo = { endpoint: moto?.endpoint ?? '', error, leases };
  project.provide('moto', info);

  // In watch mode a rerun starts from a clean moto, so its regions can be leased again.
  project.onTestsRerun(async () => {
    if (moto) {
      await moto.reset();
      await moto.manualEcsTasks();
    }
    for (const region of readdirSync(leases)) rmSync(join(leases, region), { recursive: true, force: true });
  });

  return async () => {
    await moto?.stop();
    rmSync(leases, { recursive: true, force: true });
  };
}
