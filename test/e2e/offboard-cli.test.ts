import { rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { makeStateDir } from '../fixtures/state-dir';
import { awsCli, onboardExamples, stop, tenantctl, up, type Up } from '../fixtures/processes';
import { tenantApiRequest } from '../fixtures/tenant-api';

let stateDir: string;
let running: Up | undefined;

beforeAll(async () => {
  stateDir = await makeStateDir('offboard-cli');
  running = await up(stateDir);
  await onboardExamples(stateDir, ['bookstore', 'hardware-store']);
}, 180_000);

afterAll(async () => {
  if (running) await stop(running);
  await rm(stateDir, { recursive: true, force: true });
});

async function tenants(): Promise<{ tenantId: string; status: string; tier: string }[]> {
  return JSON.parse((await tenantctl(['tenants', '--json', '--state-dir', stateDir])).stdout) as {
    tenantId: string;
    status: string;
    tier: string;
  }[];
}

describe('tenantctl offboard and restore', () => {
  it('offboards one tenant, following each state, and refuses it a second time', async () => {
    const offboarded = await tenantctl(['offboard', 'bookstore', '--state-dir', stateDir]);
    expect(offboarded.code).toBe(0);
    expect(offboarded.stdout).toContain('Verify export');
    expect(offboarded.stdout).toContain('bookstore: SUCCEEDED');
    expect(offboarded.stdout).toMatch(
      /\nexport: exports\/bookstore\/\d{8}T\d{6}Z\.tenant-export\.gz \(kept until \d{4}-\d\d-\d\dT[^;]*; tenantctl restore bookstore brings it back\)\n/,
    );
    expect((await tenants()).find((t) => t.tenantId === 'bookstore')?.status).toBe('OFFBOARDED');

    const again = await tenantctl(['offboard', 'bookstore', '--state-dir', stateDir]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('TenantStateConflict: bookstore is OFFBOARDED');
    // Refused: nothing was done, and nothing says otherwise.
    expect(again.stdout).not.toMatch(/rolling back|Rollback/);
  }, 120_000);

  it('keeps the export across a restart and restores the verified version of it, even put-object over, under another id and tier', async () => {
    // The export's key written again by hand, as a user did: `head -c 300 export.gz > t.gz; put-object`.
    const bucket = running!.endpoints.archiveBucket;
    const listed = (await awsCli(running!.endpoints.aws, [
      's3api',
      'list-objects-v2',
      '--bucket',
      bucket,
      '--prefix',
      'exports/bookstore/',
    ])) as { Contents: { Key: string }[] };
    const key = listed.Contents.map((o) => o.Key).find((k) => k.endsWith('.tenant-export.gz'))!;
    const cut = join(stateDir, 't.gz');
    await awsCli(running!.endpoints.aws, ['s3api', 'get-object', '--bucket', bucket, '--key', key, cut]);
    await truncate(cut, 300);
    await awsCli(running!.endpoints.aws, [
      's3api',
      'put-object',
      '--bucket',
      bucket,
      '--key',
      key,
      '--body',
      cut,
    ]);
    // The archive keeps both versions across a restart (the emulator gives them new version ids).
    expect(await stop(running!)).toBe(0);
    running = await up(stateDir);
    const versions = (await awsCli(running.endpoints.aws, [
      's3api',
      'list-object-versions',
      '--bucket',
      bucket,
      '--prefix',
      key,
    ])) as { Versions: { Size: number }[] };
    expect(versions.Versions.map((v) => v.Size)).toEqual([300, expect.any(Number)]);
    const restored = await tenantctl(
      ['restore', 'bookstore', '--as', 'bookstore-two', '--tier', 'dedicated', '--state-dir', stateDir],
      { timeoutMs: 120_000 },
    );
    expect([restored.code, restored.stderr]).toEqual([0, '']);
    expect(restored.stdout).toContain('bookstore-two: SUCCEEDED');
    expect(restored.stdout).toContain(
      `warning: ExportReplaced: ${key} was written again after it was verified`,
    );
    expect((await tenants()).find((t) => t.tenantId === 'bookstore-two')).toMatchObject({
      status: 'ACTIVE',
      tier: 'dedicated',
    });
    const health = await tenantApiRequest(
      running.endpoints.gateway,
      'api.bookstore-two.localhost',
      '/health',
    );
    expect(health.status).toBe(200);
  }, 240_000);

  it('refuses to restore a tenant that has no export, and bad flags, naming them', async () => {
    const none = await tenantctl(['restore', 'hardware-store', '--state-dir', stateDir]);
    expect([none.code, none.stderr]).toEqual([
      2,
      expect.stringContaining('hardware-store has no verified export') as string,
    ]);
    const bad = await tenantctl(['restore', 'bookstore', '--as', 'Not An Id', '--state-dir', stateDir]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringContaining('--as: must be lower-case') as string,
    ]);
    // A malformed id is refused before anything starts, the same way by every command that takes one.
    for (const command of ['suspend', 'resume', 'offboard', 'exports', 'admin-credentials']) {
      const malformed = await tenantctl([command, 'Not An Id', '--state-dir', stateDir]);
      expect([command, malformed.code, malformed.stdout, malformed.stderr]).toEqual([
        command,
        2,
        '',
        expect.stringContaining('tenantId: must be lower-case') as string,
      ]);
    }
    const scripted = await tenantctl(['suspend', 'Not An Id', '--json', '--state-dir', stateDir]);
    expect([scripted.code, JSON.parse(scripted.stderr)]).toEqual([
      2,
      { error: expect.stringContaining('tenantId: must be lower-case') as string, exitCode: 2 },
    ]);
    const neither = await tenantctl(['offboard', '--state-dir', stateDir]);
    expect([neither.code, neither.stderr]).toEqual([
      2,
      expect.stringContaining('give a tenantId, or --all') as string,
    ]);
    // Ten tenantctl processes: a few seconds each on a machine busy with the other test files.
  }, 180_000);

  it('offboard --all asks for confirmation, and with --yes offboards every tenant', async () => {
    const unconfirmed = await tenantctl(['offboard', '--all', '--state-dir', stateDir]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stdout).toContain(
      'Offboard all 2 tenants on the local platform (bookstore-two, hardware-store)',
    );
    expect(unconfirmed.stdout).toContain('Nothing was offboarded: pass --yes to confirm.');
    expect((await tenants()).filter((t) => t.status === 'ACTIVE')).toHaveLength(2);

    const all = await tenantctl(['offboard', '--all', '--yes', '--state-dir', stateDir], {
      timeoutMs: 120_000,
    });
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('2 of 2 tenants offboarded');
    expect((await tenants()).map((t) => t.status)).toEqual(['OFFBOARDED', 'OFFBOARDED', 'OFFBOARDED']);
    const nothing = await tenantctl(['offboard', '--all', '--yes', '--state-dir', stateDir]);
    expect([nothing.code, nothing.stdout]).toEqual([0, 'No tenant to offboard.\n']);
  }, 180_000);

  it('restores a dedicated tenant from the final snapshot its offboarding kept, saying so', async () => {
    const restored = await tenantctl(['restore', 'bookstore-two', '--state-dir', stateDir], {
      timeoutMs: 120_000,
    });
    expect([restored.code, restored.stderr]).toEqual([0, '']);
    expect(restored.stdout).toContain(
      'bookstore-two: its instance comes back from the final snapshot its offboarding kept',
    );
    expect(restored.stdout).toContain('bookstore-two: SUCCEEDED');
    const instances = (await awsCli(running!.endpoints.aws, [
      'rds',
      'describe-db-instances',
      '--db-instance-identifier',
      'tenant-bookstore-two',
    ])) as { DBInstances: { DBInstanceStatus: string }[] };
    expect(instances.DBInstances.map((i) => i.DBInstanceStatus)).toEqual(['available']);
    const health = await tenantApiRequest(
      running!.endpoints.gateway,
      'api.bookstore-two.localhost',
      '/health',
    );
    expect(health.status).toBe(200);
  }, 180_000);
});
