/**
 * Which role a request to the local endpoint is made with. On AWS each task Lambda gets its role's session
 * credentials from the runtime, and every request it signs carries the session token. In process, the
 * tasks share one environment: each invocation runs inside `asRole` (an AsyncLocalStorage follows every
 * callback and promise it starts), and a plugin on the task clients (workflow-tasks/lib/aws.ts) sends the
 * role in the request's `X-Amz-Security-Token`, where a role session's token goes.
 *
 * A tenant function signs with its role's token (AWS_SESSION_TOKEN in its worker's environment).
 *
 * A request without one is the operator's (tenantctl, the tests, the platform's own bootstrap), and is
 * not checked, as an administrator's would pass.
 *
 * A session in another account (a cell's, common/cells.ts) is one the local STS gave (sts/sessions.ts): its
 * token names the account and the role assumed there, and the endpoint sends the request to that account of
 * the emulator.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { useClientPlugins, type ClientPlugin } from '../../workflow-tasks/lib/aws';
import { LOCAL_ACCOUNT } from '../account';
import { useProcessScope } from '../../workflow-tasks/lib/process-scope';

const TOKEN_PREFIX = 'local-role/';
/** A session in another account (a cell's): `local-session/<account>/<role>`, the role empty for the operator's. */
const SESSION_PREFIX = 'local-session/';
const currentRole = new AsyncLocalStorage<string>();

/** Who a request is made by: a role (none: the operator), in an account. */
export interface Principal {
  readonly account: string;
  readonly role?: string;
}

/**
 * The session token of `role`'s local credentials in `account` (the platform's when not given). A tenant
 * function's worker gets it in AWS_SESSION_TOKEN (local/lambda/functions.ts), as the Lambda runtime gives
 * a function its role's session; the local STS gives it for an assumed role (sts/sessions.ts).
 */
export function roleToken(role: string, account: string = LOCAL_ACCOUNT): string {
  return account === LOCAL_ACCOUNT ? `${TOKEN_PREFIX}${role}` : `${SESSION_PREFIX}${account}/${role}`;
}

/** The session token of the operator's session in `account` (what it gets assuming a role there). */
export function operatorToken(account: string): string {
  return `${SESSION_PREFIX}${account}/`;
}

/**
 * Credentials of the operator in `account` (the local platform's own reads of a cell account, such as the
 * local Lambda runtime's), as an administrator's session there would be.
 */
export function operatorCredentialsIn(account: string): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
} {
  return {
    accessKeyId: 'LOCALOPERATOR',
    secretAccessKey: 'local',
    ...(account === LOCAL_ACCOUNT ? {} : { sessionToken: operatorToken(account) }),
  };
}

/** Runs `work` as the role named `role` (its requests carry it). */
export function asRole<T>(role: string, work: () => T): T {
  return currentRole.run(role, work);
}

/** The role the calling code runs as ('' outside every task: the operator's). */
export function callingRole(): string {
  return currentRole.getStore() ?? '';
}

/** The SDK client plugin that puts the current role's token on each request. */
export const roleTokenPlugin: ClientPlugin = {
  applyToStack(stack) {
    stack.add(
      (next) => async (args) => {
        const role = currentRole.getStore();
        const request = args.request as { headers?: Record<string, string> };
        if (role && request.headers) request.headers['x-amz-security-token'] = roleToken(role);
        return next(args);
      },
      // Overriding: the credentials provider of a cell's clients applies it to its STS client each time.
      { step: 'build', name: 'localRoleToken', override: true },
    );
  },
};

/** The role a request was signed with, if it carries a local role token (in any account). */
export function roleOf(req: IncomingMessage): string | undefined {
  return principalOf(req).role;
}

/** Who made the request: the role and account its session token names; none is the operator at home. */
export function principalOf(req: IncomingMessage): Principal {
  const token = req.headers['x-amz-security-token'];
  if (typeof token !== 'string') return { account: LOCAL_ACCOUNT };
  if (token.startsWith(TOKEN_PREFIX))
    return { account: LOCAL_ACCOUNT, role: token.slice(TOKEN_PREFIX.length) };
  const session = /^local-session\/([0-9]{12})\/(.*)$/.exec(token);
  if (!session) return { account: LOCAL_ACCOUNT };
  const [, account = LOCAL_ACCOUNT, role = ''] = session;
  return role ? { account, role } : { account };
}

/**
 * On: the task clients made from now on name the calling task's role on each request, and each task's
 * caches are its own, as its own Lambda process's are (so IAM sees each role's reads). Off: neither.
 */
export function identifyTaskRoles(on: boolean): void {
  useClientPlugins(on ? [roleTokenPlugin] : []);
  useProcessScope(on ? callingRole : () => '');
}
