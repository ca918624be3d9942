import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { startServer, type PostgresServer } from '../../local/rds/postgres';
import { serverFiles } from '../../local/rds/server-files';
import { REPO, alive } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';

/**
 * What a platform killed with SIGKILL leaves for the next start in its state directory (children.ts): the
 * record of its servers, and the servers themselves. A CI run of aca87a5 saw the next start refused by the
 * shared server's lock file ("another postmaster (PID …) running"): the platform had been killed while it
 * rewrote that record.
 */
let stateDir: string;
beforeEach(async () => {
  stateDir = await makeStateDir('leftovers');
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

it('the record of the servers stays whole when the platform is killed while rewriting it', async () => {
  const record = join(stateDir, 'children.json');
  // A process that does nothing but record servers, as a platform starting instance servers does.
  const writer = `
    require('tsx/cjs');
    const { recordChild } = require(${JSON.stringify(join(REPO, 'local/processes/children.ts'))});
    (async () => {
      for (let i = 0; ; i++)
        await recordChild(${JSON.stringify(stateDir)}, 'server-' + (i % 40), { pid: i, marker: 'x'.repeat(2000), signal: 'SIGTERM' });
    })();`;
  for (let kill = 0; kill < 12; kill++) {
    const child = spawn(process.execPath, ['-e', writer], { stdio: 'ignore' });
    // Killed once it has written for a while, at a moment nobody chose.
    await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 200));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(record)).toBe(true);
    const servers = Object.keys(JSON.parse(readFileSync(record, 'utf8')) as object);
    expect(servers.length).toBeGreaterThan(0);
  }
});

it('a server left running on a data directory without a record is stopped by the next start there', async () => {
  const files = await serverFiles(stateDir);
  const options = { files, dataDir: join(files.dataRoot, 'postgres'), superuser: 'postgres', password: 'p' };
  const servers: PostgresServer[] = [];
  try {
    // The first server's record is lost (none is written): only its lock file names it.
    servers.push(await startServer(options));
    servers.push(await startServer(options));
    const [left, next] = servers as [PostgresServer, PostgresServer];
    expect(alive(left.pid)).toBe(false);
    const client = new Client({ host: '127.0.0.1', port: next.port, user: 'postgres', password: 'p' });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await client.end();
    expect(rows[0]?.pid).toEqual(expect.any(Number));
  } finally {
    for (const server of servers) await server.stop();
  }
});
