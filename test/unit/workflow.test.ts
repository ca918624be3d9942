import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string;
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: { pull_request?: unknown; push?: { branches: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const text = readFileSync(join(__dirname, '..', '..', '.github', 'workflows', 'ci.yml'), 'utf8');
const workflow = parse(text) as Workflow;

describe('the GitHub Actions workflow', () => {
  it('tests pull requests with the same command as CI here', () => {
    expect(Object.keys(workflow.on)).toEqual(['pull_request', 'push']);
    const runs = workflow.jobs.test!.steps.map((s) => s.run).filter(Boolean);
    expect(runs).toContain('bash .ci/run');
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('deploys main only, after the tests, with cdk deploy and OIDC role credentials', () => {
    const deploy = workflow.jobs.deploy!;
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(deploy.needs).toBe('test');
    expect(deploy.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(deploy.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    const credentials = deploy.steps.find((s) =>
      s.uses?.startsWith('aws-actions/configure-aws-credentials@'),
    );
    expect(credentials?.with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}' });
    expect(deploy.steps.map((s) => s.run).filter(Boolean)).toContain(
      'npx cdk deploy TenantPlatform --require-approval never --ci',
    );
  });

  it('holds no long-lived AWS keys', () => {
    expect(text).not.toMatch(
      /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/,
    );
  });
});
