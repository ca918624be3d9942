/**
 * Stands in for **IAM's authorization of every request**: a request made with a task Lambda's role is
 * evaluated, action by action and resource by resource (operations.ts), against that role's policies as
 * CDK synthesizes them (roles.ts), by @cloud-copilot/iam-simulate, and refused as AWS refuses it
 * (`AccessDenied`, in the protocol of the service asked) when they do not allow it. What was used is
 * recorded per role, for `npm run iam-report`.
 *
 * A tenant function's requests are checked the same way, against its role as the emulator holds it (the
 * inline policy and the permissions boundary "Deploy function" gave it).
 *
 * Where the real thing differs: resource policies, resource tags (`aws:ResourceTag/*`), SCPs and session
 * policies are not evaluated (the platform uses none of them to grant or limit its tasks), nor a runtime
 * role's attached managed policies (the tenant roles' AWS calls are all granted inline); the operator's
 * own requests (no role token) are not checked; a Secrets Manager name stands for its secret with any
 * six-character suffix.
 */
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Principal } from './principal';
import type { LocalRole } from './roles';
import {
  authorizationsOf,
  UncheckableRequest,
  type Authorization,
  type LocalAccount,
  type Lookups,
  type WireRequest,
} from './operations';

/** A refusal: the first authorization the role's policies do not allow. */
export interface Denial {
  readonly role: string;
  readonly authorization: Authorization;
  readonly explicit: boolean;
  readonly message: string;
}

/** Per role: `action resource` -> times allowed. */
export type Usage = ReadonlyMap<string, ReadonlyMap<string, number>>;

const MAX_CACHED = 20_000;

type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export class LocalIam {
  private readonly byName: ReadonlyMap<string, LocalRole>;
  /** The cell accounts' copies of the stack's roles, by `<account>/<name>`. */
  private readonly copies = new Map<string, LocalRole>();
  private readonly lookups = new Map<string, Lookups>();
  private readonly decisions = new Map<string, Promise<Decision>>();
  private readonly used = new Map<string, Map<string, number>>();
  private readonly refused: Denial[] = [];

  constructor(
    roles: Iterable<LocalRole>,
    private readonly local: LocalAccount,
    /** The emulator's lookups in an account. */
    private readonly lookupsIn: (account: string) => Lookups,
    /** Each cell account's copies of the roles (infra/cell-stack.ts), by account. */
    cellRoles: ReadonlyMap<string, Iterable<LocalRole>> = new Map(),
  ) {
    this.byName = new Map([...roles].map((role) => [role.name, role]));
    for (const [account, copies] of cellRoles)
      for (const copy of copies) this.copies.set(`${account}/${copy.name}`, copy);
  }

  /** The roles this check knows (every task Lambda's). */
  get roles(): readonly LocalRole[] {
    return [...this.byName.values()];
  }

  /**
   * Undefined when the policies of the principal's role allow every authorization the request needs. In a
   * cell's account (common/cells.ts), a task's role is that account's copy of it, as the cell's stack
   * synthesizes it (infra/cell-stack.ts): its grants on a tenant's resources there.
   */
  async authorize(
    who: string | (Principal & { role: string }),
    request: WireRequest,
  ): Promise<Denial | undefined> {
    // A role's name alone is the platform's account's role.
    const principal = typeof who === 'string' ? { account: this.local.account, role: who } : who;
    const { role: roleName } = principal;
    const account = { account: principal.account, region: this.local.region };
    const lookups = this.lookupsOf(principal.account);
    const stackRole = this.stackRole(principal);
    // Not one of the stack's: a role a task made (a tenant function's), read as it is now, not cached.
    const role = stackRole ?? (await lookups.runtimeRole(roleName));
    const authorizations = await authorizationsOf(request, account, lookups);
    for (const authorization of authorizations) {
      const decision = !role
        ? 'ImplicitlyDenied'
        : stackRole
          ? await this.decide(principal.account, stackRole, authorization)
          : await this.simulate(principal.account, role, authorization);
      if (decision === 'Allowed') {
        this.record(roleName, authorization);
        continue;
      }
      const explicit = decision === 'ExplicitlyDenied';
      const denial = {
        role: roleName,
        authorization,
        explicit,
        message:
          `User: ${sessionArn(principal.account, roleName)} is not authorized to perform: ${authorization.action} on resource: ` +
          `${authorization.resource} because ${explicit ? 'an explicit deny in an identity-based policy denies' : 'no identity-based policy allows'} ` +
          `the ${authorization.action} action`,
      };
      this.refused.push(denial);
      return denial;
    }
    return undefined;
  }

  /** The stack's role the principal is, or its copy in the principal's cell account; undefined: neither. */
  private stackRole({ account, role }: Principal & { role: string }): LocalRole | undefined {
    return account === this.local.account ? this.byName.get(role) : this.copies.get(`${account}/${role}`);
  }

  private lookupsOf(account: string): Lookups {
    let found = this.lookups.get(account);
    if (!found) {
      found = this.lookupsIn(account);
      this.lookups.set(account, found);
    }
    return found;
  }

  /** What each role was allowed to do so far. */
  usage(): Usage {
    return this.used;
  }

  /** Writes the roles and what each was allowed into a new file in `dir` (merged by `npm run iam-report`). */
  async writeUsage(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const usage = Object.fromEntries(
      [...this.used].map(([role, calls]) => [role, Object.fromEntries(calls)]),
    );
    await writeFile(
      join(dir, `iam-usage-${process.pid}-${randomUUID()}.json`),
      JSON.stringify({ roles: this.roles, usage }),
    );
  }

  /** Every refusal so far. */
  denials(): readonly Denial[] {
    return this.refused;
  }

  private decide(account: string, role: LocalRole, authorization: Authorization) {
    const key = JSON.stringify([
      account,
      role.name,
      authorization.action,
      authorization.resource,
      authorization.context ?? {},
    ]);
    let decision = this.decisions.get(key);
    if (!decision) {
      if (this.decisions.size >= MAX_CACHED) this.decisions.clear();
      decision = this.simulate(account, role, authorization);
      this.decisions.set(key, decision);
    }
    return decision;
  }

  private async simulate(account: string, role: LocalRole, { action, resource, context }: Authorization) {
    const simulation: Simulation = {
      request: {
        principal: sessionArn(account, role.name),
        action,
        resource: { resource: asOneResource(resource), accountId: account },
        contextVariables: {
          'aws:PrincipalArn': `arn:aws:iam::${account}:role/${role.name}`,
          'aws:PrincipalAccount': account,
          'aws:RequestedRegion': this.local.region,
          'aws:SecureTransport': 'true',
          ...context,
        },
      },
      identityPolicies: role.policies.map(({ name, document }) => ({ name, policy: document })),
      ...(role.boundary ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: role.boundary }] } : {}),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    };
    // iam-data lists API Gateway's v1 resource types only for its HTTP-verb actions: the v2 paths the tasks
    // call (/apis, /domainnames/...) are evaluated without that validation.
    if (action.startsWith('apigateway:')) return runUnsafeSimulation(simulation, {});
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error')
      throw new UncheckableRequest(
        `the local IAM check cannot evaluate ${action} on ${resource}: ${JSON.stringify(result.errors)}`,
      );
    if (result.resultType !== 'single')
      throw new UncheckableRequest(
        `the local IAM check cannot evaluate ${action} on ${resource} (a wildcard)`,
      );
    return result.overallResult;
  }

  private record(role: string, { action, resource }: Authorization): void {
    const entries = this.used.get(role) ?? new Map<string, number>();
    const key = `${action} ${resource}`;
    entries.set(key, (entries.get(key) ?? 0) + 1);
    this.used.set(role, entries);
  }
}

/** The ARN of a role's session in `account`. */
function sessionArn(account: string, role: string): string {
  return `arn:aws:sts::${account}:assumed-role/${role}/${role}`;
}

/** The services that speak each protocol, for the shape of their AccessDenied. */
const QUERY = new Set(['rds', 'iam', 'sts']);
const REST_JSON = new Set(['lambda', 'apigateway']);

/** Answers the request with AccessDenied, as the service asked would. */
export function sendAccessDenied(
  res: ServerResponse,
  service: string,
  target: string,
  message: string,
): void {
  const requestId = randomUUID();
  const xml = (body: string) => {
    res.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(body);
  };
  const escaped = message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (target) {
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': 'AccessDeniedException',
    });
    res.end(JSON.stringify({ __type: 'AccessDeniedException', message, Message: message }));
  } else if (QUERY.has(service)) {
    xml(
      `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  } else if (REST_JSON.has(service)) {
    res.writeHead(403, {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': 'AccessDeniedException',
    });
    res.end(JSON.stringify({ Message: message, message }));
  } else if (service === 's3') {
    xml(
      `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${escaped}</Message><RequestId>${requestId}</RequestId></Error>`,
    );
  } else {
    xml(
      `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}

/**
 * A request for every resource of a type (DescribeDBInstances without an identifier: `...:db:*`) names
 * them with a literal `*`, which AWS matches as a character: `db:*` or `*` allow it, `db:tenant-*` does
 * not. The simulator would read it as a pattern (and allow it by any statement on some of them), so it is
 * evaluated as one resource named by a character no identifier has, which only those match too.
 */
function asOneResource(resource: string): string {
  return resource !== '*' && resource.endsWith(':*') ? `${resource.slice(0, -1)}\u00a7` : resource;
}
