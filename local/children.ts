import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The servers a platform starts (PostgreSQL, moto_server) are recorded in its state directory. A platform
 * killed with SIGKILL cannot stop them; the next start in the same directory does, before starting its own,
 * and only processes whose command line still names what was recorded (never someone else's).
 */
const FILE = 'children.json';

interface Child {
  readonly pid: number;
  /** A string the process's command line must contain for it to still be ours. */
  readonly marker: string;
  /** How it shuts down fast: PostgreSQL on SIGINT, others on SIGTERM. */
  readonly signal: NodeJS.Signals;
}

export async function recordChild(stateDir: string, name: string, child: Child): Promise<void> {
  const children = await readChildren(stateDir);
  children[name] = child;
  await writeFile(join(stateDir, FILE), JSON.stringify(children), { mode: 0o600 });
}

/** Called on a clean stop: nothing is left to stop next time. */
export async function forgetChildren(stateDir: string): Promise<void> {
  await rm(join(stateDir, FILE), { force: true });
}

/** Stops what a killed platform left running in this state directory; returns what it stopped. */
export async function stopLeftovers(stateDir: string): Promise<string[]> {
  const stopped: string[] = [];
  for (const [name, child] of Object.entries(await readChildren(stateDir))) {
    if (!running(child)) continue;
    process.kill(child.pid, child.signal);
    const deadline = Date.now() + 15_000;
    while (running(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (running(child)) process.kill(child.pid, 'SIGKILL');
    stopped.push(name);
  }
  await rm(join(stateDir, FILE), { force: true });
  return stopped;
}

/** Alive, not a zombie, and still the process that was recorded. */
function running(child: Child): boolean {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return false;
    return readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(child.marker);
  } catch {
    return false;
  }
}

async function readChildren(stateDir: string): Promise<Record<string, Child>> {
  try {
    return JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as Record<string, Child>;
  } catch {
    return {};
  }
}
