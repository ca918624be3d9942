/**
 * Least privilege, measured: each role's grants (every action x resource of its Allow statements, as
 * synthesized) beside what the local IAM check allowed it over a run (LocalIam.usage). A grant no call
 * matched is granted but never used, what IAM Access Analyzer's policy generation finds from CloudTrail.
 * A call counts for every grant that matches it, so a grant shadowed by a wider one still shows as used.
 */
import type { Usage } from './enforcer';
import type { LocalRole } from './roles';

/** One action pattern on one resource pattern of a role's policies, and the calls it matched. */
export interface Grant {
  readonly action: string;
  readonly resource: string;
  /** The statement has a Condition (not evaluated here: only its actions and resources are matched). */
  readonly conditional: boolean;
  readonly calls: number;
  /** The actions the calls it matched were (what a wildcard action was used as). */
  readonly usedAs: readonly string[];
  /** Up to three of the resources it was used on. */
  readonly examples: readonly string[];
}

export interface RoleUsage {
  readonly role: string;
  readonly used: readonly Grant[];
  readonly unused: readonly Grant[];
}

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: unknown;
}

const listOf = (value: string | readonly string[] | undefined): readonly string[] =>
  value === undefined ? [] : typeof value === 'string' ? [value] : value;

/** An IAM wildcard pattern (`*`, `?`) as a regular expression; actions match case-insensitively. */
function patternOf(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

/** Every role's grants with the calls of `usage` that matched each; roles by name, grants as written. */
export function leastPrivilege(roles: readonly LocalRole[], usage: Usage): RoleUsage[] {
  return [...roles]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((role) => {
      const calls = [...(usage.get(role.name) ?? new Map<string, number>()).entries()].map(([key, count]) => {
        const space = key.indexOf(' ');
        return { action: key.slice(0, space), resource: key.slice(space + 1), count };
      });
      const grants = role.policies.flatMap(({ document }) =>
        (document.Statement as Statement[])
          .filter((statement) => statement.Effect === 'Allow')
          .flatMap((statement) =>
            listOf(statement.Action).flatMap((action) =>
              listOf(statement.Resource).map((resource) => {
                const actionPattern = patternOf(action, true);
                const resourcePattern = patternOf(resource, false);
                const matched = calls.filter(
                  (call) => actionPattern.test(call.action) && resourcePattern.test(call.resource),
                );
                return {
                  action,
                  resource,
                  conditional: statement.Condition !== undefined,
                  calls: matched.reduce((sum, call) => sum + call.count, 0),
                  usedAs: [...new Set(matched.map((call) => call.action))].sort(),
                  examples: [...new Set(matched.map((call) => call.resource))].slice(0, 3),
                };
              }),
            ),
          ),
      );
      return {
        role: role.name,
        used: grants.filter((grant) => grant.calls > 0),
        unused: grants.filter((grant) => grant.calls === 0),
      };
    });
}
