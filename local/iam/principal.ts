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
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { useClientPlugins, type ClientPlugin } from '../../workflow-tasks/lib/aws';
import { useProcessScope } from '../../workflow-tasks/lib/process-scope';

const TOKEN_PREFIX = 'local-role/';
const currentRole = new AsyncLocalStorage<string>();

/**
 * The session token of `role`'s local credentials. A tenant function's worker gets it in
 * AWS_SESSION_TOKEN (local/lambda/functions.ts), as the Lambda runtime gives a function its role's session.
 */
export function roleToken(role: string): string {
  return `${TOKEN_PREFIX}${role}`;
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
      { step: 'build', name: 'localRoleToken' },
    );
  },
};

/** The role a request was signed with, if it carries a local role token. */
export function roleOf(req: IncomingMessage): string | undefined {
  const token = req.headers['x-amz-security-token'];
  return typeof token === 'string' && token.startsWith(TOKEN_PREFIX)
    ? token.slice(TOKEN_PREFIX.length)
    : undefined;
}

/**
 * On: the task clients made from now on name the calling task's role on each request, and each task's
 * caches are its own, as its own Lambda process's are (so IAM sees each role's reads). Off: neither.
 */
export function identifyTaskRoles(on: boolean): void {
  useClientPlugins(on ? [roleTokenPlugin] : []);
  useProcessScope(on ? callingRole : () => '');
}
