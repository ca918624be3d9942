import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

/** Runs the project's dependency rules on a tree of files; resolves to the exit code and the report. */
async function cruise(files: Record<string, string>): Promise<{ code: number; report: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'layering-'));
  try {
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true } }));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    const folders = [...new Set(Object.keys(files).map((p) => p.split('/')[0] ?? p))];
    return await promisify(execFile)(DEPCRUISE, [...folders, '--config', CONFIG], { cwd: dir }).then(
      ({ stdout }) => ({ code: 0, report: stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, report: error.stdout }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the layering rules of npm run lint', () => {
  it('refuses two modules that import each other', async () => {
    const { code, report } = await cruise({
      'local/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'local/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    });
    expect(code).not.toBe(0);
    expect(report).toMatch(/no-circular: local\/a\.ts/);
  });

  it('refuses the local platform importing the CLI or the console, its clients', async () => {
    const { code, report } = await cruise({
      'local/gateway.ts': "import { page } from '../console/server';\nexport const g = page;\n",
      'console/server.ts': 'export const page = 1;\n',
    });
    expect(code).not.toBe(0);
    expect(report).toMatch(/local-below-its-clients: local\/gateway\.ts → console\/server\.ts/);
  });

  it('refuses a step handler importing the local platform, and infra importing it', async () => {
    const { code, report } = await cruise({
      'workflow-tasks/step.ts': "import { x } from '../local/x';\nexport const s = x;\n",
      'infra/stack.ts': "import { x } from '../local/x';\nexport const t = x;\n",
      'local/x.ts': 'export const x = 1;\n',
    });
    expect(code).not.toBe(0);
    expect(report).toMatch(/deployed-code-on-common-alone: workflow-tasks\/step\.ts → local\/x\.ts/);
    expect(report).toMatch(/infra-never-local: infra\/stack\.ts → local\/x\.ts/);
  });

  it('accepts imports that point down the layers', async () => {
    const { code, report } = await cruise({
      'cli/main.ts': "import { p } from '../local/platform';\nexport const m = p;\n",
      'local/platform.ts': "import { step } from '../workflow-tasks/step';\nexport const p = step;\n",
      'workflow-tasks/step.ts': "import { name } from '../common/names';\nexport const step = name;\n",
      'common/names.ts': "export const name = 'n';\n",
    });
    expect(report).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  });
});
