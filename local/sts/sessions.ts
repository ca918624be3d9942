/**
 * Stands in for **STS AssumeRole** into another account (a cell's, common/cells.ts): the session's token
 * names the account and the role (iam/principal.ts), and every request made with it goes to that account
 * of the emulator, checked against that role.
 *
 * Who may assume what, as the cell stack's trust policies say: a task's role only its own copy in another
 * account (the same name), when its own policies allow `sts:AssumeRole` on it (the IAM check, before this
 * answers); the operator any role anywhere (an administrator's session, as AWS Organizations' access role
 * gives one). Where the real thing differs: the session never expires early, and the secret key is not
 * checked (the emulator takes any signature).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT } from '../account';
import { operatorToken, roleToken, type Principal } from '../iam/principal';

const DEFAULT_SECONDS = 3600;

/** An STS query answer (XML) or its error. */
export interface StsAnswer {
  readonly status: number;
  readonly body: string;
}

/** The answer to an STS request made by `caller`, or undefined when it is not AssumeRole (it goes on). */
export function assumeRole(form: URLSearchParams, caller: Principal): StsAnswer | undefined {
  if (form.get('Action') !== 'AssumeRole') return undefined;
  const roleArn = form.get('RoleArn') ?? '';
  const sessionName = form.get('RoleSessionName') ?? '';
  const arn = /^arn:aws:iam::([0-9]{12}):role\/(?:[^/]+\/)*([\w+=,.@-]{1,64})$/.exec(roleArn);
  if (!arn) return error(400, 'ValidationError', `RoleArn is not a role's ARN: ${roleArn.slice(0, 200)}`);
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
    return error(400, 'ValidationError', 'RoleSessionName must be 2 to 64 characters of [\\w+=,.@-]');
  const [, account = '', role = ''] = arn;
  if (caller.role !== undefined && (caller.account !== LOCAL_ACCOUNT || role !== caller.role))
    return error(
      403,
      'AccessDenied',
      `User: arn:aws:sts::${caller.account}:assumed-role/${caller.role}/${caller.role} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} (its trust policy trusts only the same role of the platform's account)`,
    );
  const seconds = Number(form.get('DurationSeconds') ?? DEFAULT_SECONDS);
  const expiration = new Date(Date.now() + seconds * 1000).toISOString();
  const token = caller.role === undefined ? operatorToken(account) : roleToken(role, account);
  return {
    status: 200,
    body:
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
      `<Credentials><AccessKeyId>ASIA${randomBytes(8).toString('hex').toUpperCase()}</AccessKeyId>` +
      `<SecretAccessKey>${randomBytes(20).toString('base64')}</SecretAccessKey>` +
      `<SessionToken>${token}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
      `<AssumedRoleUser><AssumedRoleId>AROA${account}:${sessionName}</AssumedRoleId>` +
      `<Arn>arn:aws:sts::${account}:assumed-role/${role}/${sessionName}</Arn></AssumedRoleUser>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>` +
      `</AssumeRoleResponse>`,
  };
}

function error(status: number, code: string, message: string): StsAnswer {
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return {
    status,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escaped}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}
