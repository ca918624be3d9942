import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeStateDir } from '../fixtures/state-dir';

const REPO = join(__dirname, '..', '..');

/** Runs `tenantctl` as a user would, from the repository's bin entry. */
function tenantctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, 'bin', 'tenantctl.js'), ...args],
      { cwd: REPO },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let dir: string;

beforeAll(async () => {
  dir = await makeStateDir('cli');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tenantctl onboard --local --json', () => {
  it('prints the execution as one JSON object and exits 0 when the tenant is live', async () => {
    const result = await tenantctl([
      'onboard',
      join(REPO, 'examples', 'tenants', 'bookstore.json'),
      '--local',
      '--json',
      '--state-dir',
      join(dir, 'ok'),
    ]);
    // On failure, what it said (CI once saw exit 2, an error thrown, without it).
    expect(result).toMatchObject({ code: 0 });
    const summary = JSON.parse(result.stdout) as {
      status: string;
      executionArn: string;
      output: { results: { activation: unknown } };
    };
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.executionArn).toMatch(/^arn:aws:states:us-east-1:\d{12}:execution:tenant-onboarding:/);
    expect(summary.output.results.activation).toEqual({ tenantId: 'bookstore', status: 'ACTIVE' });
  });

  it('exits 1 with the error and its cause when validation fails', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ tenantId: 'Bad Shop', companyName: 'x', adminEmail: 'a@b.co' }));
    const result = await tenantctl(['onboard', file, '--local', '--json', '--state-dir', join(dir, 'bad')]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as { status: string; error: string; cause: string };
    expect(summary).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(summary.cause).toContain('tenantId: must be lower-case letters');
  });

  it('exits 2 and says how to start one when no local platform is running', async () => {
    const result = await tenantctl([
      'onboard',
      join(REPO, 'examples', 'tenants', 'bookstore.json'),
      '--state-dir',
      join(dir, 'none'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No local platform is running');
    expect(result.stderr).toContain('npm start');
  });

  it('exits 2 and says why when the file is not JSON, before starting anything', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "tenantId": ');
    const result = await tenantctl(['onboard', file, '--state-dir', join(dir, 'broken')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not valid JSON');
  });
});
