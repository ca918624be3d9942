import { LOCAL_ACCOUNT } from '../../local/account';
import { operatorToken, roleToken } from '../../local/iam/principal';
import { assumeRole } from '../../local/sts/sessions';

const CELL = '210987654321';

function asked(roleArn: string, sessionName = 'cell-session'): URLSearchParams {
  return new URLSearchParams({ Action: 'AssumeRole', RoleArn: roleArn, RoleSessionName: sessionName });
}

function tokenOf(body: string): string | undefined {
  return /<SessionToken>([^<]*)<\/SessionToken>/.exec(body)?.[1];
}

describe('the local STS: sessions in the cells that are AWS accounts of their own', () => {
  it("gives a task's role a session of its own copy in another account, and the operator any role", () => {
    const own = assumeRole(asked(`arn:aws:iam::${CELL}:role/DeployFunctionRole`), {
      account: LOCAL_ACCOUNT,
      role: 'DeployFunctionRole',
    });
    expect(own?.status).toBe(200);
    expect(tokenOf(own?.body ?? '')).toBe(roleToken('DeployFunctionRole', CELL));
    expect(own?.body).toContain(
      `<Arn>arn:aws:sts::${CELL}:assumed-role/DeployFunctionRole/cell-session</Arn>`,
    );

    const operator = assumeRole(asked(`arn:aws:iam::${CELL}:role/OrganizationAccountAccessRole`), {
      account: LOCAL_ACCOUNT,
    });
    expect(operator?.status).toBe(200);
    expect(tokenOf(operator?.body ?? '')).toBe(operatorToken(CELL));
  });

  it("refuses another role's copy, a session's second hop, and malformed input, naming what is wrong", () => {
    const refused: [URLSearchParams, { account: string; role?: string }, number, string][] = [
      [
        asked(`arn:aws:iam::${CELL}:role/RemoveDatabaseRole`),
        { account: LOCAL_ACCOUNT, role: 'DeployFunctionRole' },
        403,
        'its trust policy trusts only the same role',
      ],
      [
        asked(`arn:aws:iam::${CELL}:role/DeployFunctionRole`),
        { account: CELL, role: 'DeployFunctionRole' },
        403,
        'AccessDenied',
      ],
      [asked('arn:aws:iam::12:role/x'), { account: LOCAL_ACCOUNT }, 400, "RoleArn is not a role's ARN"],
      [asked(`arn:aws:iam::${CELL}:role/x`, 'a'), { account: LOCAL_ACCOUNT }, 400, 'RoleSessionName must be'],
    ];
    for (const [form, caller, status, message] of refused) {
      const answer = assumeRole(form, caller);
      expect([answer?.status, answer?.body]).toEqual([status, expect.stringContaining(message)]);
      expect(tokenOf(answer?.body ?? '')).toBeUndefined();
    }
    // Anything but AssumeRole goes on to the emulator.
    expect(
      assumeRole(new URLSearchParams({ Action: 'GetCallerIdentity' }), { account: LOCAL_ACCOUNT }),
    ).toBeUndefined();
  });
});
