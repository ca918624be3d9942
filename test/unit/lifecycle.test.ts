import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  allows,
  lifecycleDiagram,
  refusal,
  statesAllowing,
  TENANT_STATES,
} from '../../workflow-tasks/records/lifecycle';

describe('the tenant lifecycle table', () => {
  it('is the diagram the README shows', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`mermaid\n${lifecycleDiagram()}\n\`\`\``);
  });

  it('lets a returning customer sign up again or be restored, and nothing start on a tenant in flight', () => {
    expect(statesAllowing('onboard')).toEqual(['OFFBOARDED', 'ROLLED_BACK']);
    expect(statesAllowing('restore')).toEqual(['OFFBOARDED', 'ROLLED_BACK']);
    expect(statesAllowing('offboard')).toEqual(['ACTIVE', 'SUSPENDED', 'OFFBOARDING_FAILED']);
    for (const state of ['PROVISIONING', 'OFFBOARDING', 'ROLLBACK_FAILED'] as const)
      for (const operation of ['onboard', 'restore', 'suspend', 'resume', 'release', 'offboard'] as const)
        expect(allows(state, operation)).toBe(false);
    expect(allows('UNKNOWN', 'onboard')).toBe(true);
  });

  it('says what the user can do instead when it refuses', () => {
    expect(refusal('quarry', 'OFFBOARDED', 'suspend')).toBe(
      'tenant quarry is OFFBOARDED, which does not allow suspend: onboard it with `tenantctl onboard FILE`, or restore it with `tenantctl restore quarry`',
    );
    expect(refusal('quarry', 'PROVISIONING', 'onboard')).toContain(
      'wait for the execution that holds it to end',
    );
    expect(TENANT_STATES.every((s) => refusal('x', s, 'onboard').startsWith(`tenant x is ${s}`))).toBe(true);
  });
});
