// If the embedded PostgreSQL dies under a running Beacon, Beacon says so and exits non-zero instead of limping on.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupBeaconProcesses, isAlive, postgresPidFor, startBeaconProcess, waitUntil } from './helpers/beacon-process.js';

afterAll(cleanupBeaconProcesses);

describe('embedded PostgreSQL lost', () => {
  it('a killed postmaster makes Beacon log a fatal error and exit 1', async () => {
    const beacon = await startBeaconProcess();
    const postmaster = postgresPidFor(beacon.dataDir);
    expect(postmaster).toBeDefined();
    process.kill(postmaster!, 'SIGKILL');
    const exit = await beacon.exited;
    expect(exit.code).toBe(1);
    expect(beacon.output()).toMatch(/beacon: embedded PostgreSQL exited unexpectedly \(code null, signal SIGKILL\)/);
    await waitUntil(() => !isAlive(beacon.beaconPid), 5_000, 'Beacon to exit');
  });
});
