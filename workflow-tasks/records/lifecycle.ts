/**
 * The tenant's lifecycle as one table: each registry state, the operations allowed from it, and the state
 * each operation leads to. The workflows' claim steps are compare-and-sets over it, and a refused
 * operation says what the user can do instead. The README's state diagram is generated from it
 * (`lifecycleDiagram`), checked by a test so that the two cannot drift.
 */

export const TENANT_STATES = [
  'PROVISIONING',
  'ACTIVE',
  'SUSPENDED',
  'MOVING',
  'OFFBOARDING',
  'OFFBOARDED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
  'OFFBOARDING_FAILED',
] as const;

export type TenantStatus = (typeof TENANT_STATES)[number];

/**
 * Tenant states in which a tenant holds what it was given: its domain, its place on a shared instance, its
 * function's role (counted against the cell's limits, common/capacity.ts).
 */
export const HOLDING: readonly TenantStatus[] = [
  'PROVISIONING',
  'ACTIVE',
  'SUSPENDED',
  'MOVING',
  'ROLLBACK_FAILED',
  'OFFBOARDING',
  'OFFBOARDING_FAILED',
];

/** A tenant id the registry has never seen. */
export const UNKNOWN = 'UNKNOWN';
export type LifecycleState = TenantStatus | typeof UNKNOWN;

export type Operation = 'onboard' | 'restore' | 'suspend' | 'resume' | 'release' | 'offboard' | 'move';

interface Transition {
  readonly operation: Operation;
  /** Where the operation's claim puts the tenant, and where it ends on success and on failure. */
  readonly via?: TenantStatus;
  readonly to: TenantStatus;
  readonly onFailure?: TenantStatus;
  /**
   * A failure before its point of no return (an offboarding's verified export, a move's resume on the
   * target) puts the tenant back.
   */
  readonly backOnEarlyFailure?: boolean;
}

const OFFBOARD: Transition = {
  operation: 'offboard',
  via: 'OFFBOARDING',
  to: 'OFFBOARDED',
  onFailure: 'OFFBOARDING_FAILED',
  backOnEarlyFailure: true,
};

/**
 * From each state, the operations allowed. Onboarding an OFFBOARDED id starts a new, empty incarnation
 * (a signup never brings back old data); restore is the explicit way back to an export.
 */
export const LIFECYCLE: Readonly<Record<LifecycleState, readonly Transition[]>> = {
  UNKNOWN: [
    { operation: 'onboard', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
    { operation: 'restore', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
  ],
  PROVISIONING: [],
  ACTIVE: [
    { operation: 'suspend', to: 'SUSPENDED' },
    { operation: 'release', to: 'ACTIVE' },
    { operation: 'move', via: 'MOVING', to: 'ACTIVE', backOnEarlyFailure: true },
    OFFBOARD,
  ],
  SUSPENDED: [{ operation: 'resume', to: 'ACTIVE' }, OFFBOARD],
  MOVING: [],
  OFFBOARDING: [],
  OFFBOARDED: [
    { operation: 'onboard', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
    { operation: 'restore', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
  ],
  ROLLED_BACK: [
    { operation: 'onboard', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
    { operation: 'restore', via: 'PROVISIONING', to: 'ACTIVE', onFailure: 'ROLLED_BACK' },
  ],
  ROLLBACK_FAILED: [],
  OFFBOARDING_FAILED: [
    { operation: 'offboard', via: 'OFFBOARDING', to: 'OFFBOARDED', onFailure: 'OFFBOARDING_FAILED' },
  ],
};

/** Whether `operation` may start from `state`. */
export function allows(state: LifecycleState, operation: Operation): boolean {
  // A state this table does not know (a newer registry's, read by an older client) allows nothing.
  return (LIFECYCLE[state] ?? []).some((t) => t.operation === operation);
}

/** The registry states `operation` may start from (for a claim's `status IN (...)`). */
export function statesAllowing(operation: Operation): TenantStatus[] {
  return TENANT_STATES.filter((s) => allows(s, operation));
}

const COMMAND: Record<Operation, (tenantId: string) => string> = {
  onboard: () => 'tenantctl onboard FILE',
  restore: (id) => `tenantctl restore ${id}`,
  suspend: (id) => `tenantctl suspend ${id}`,
  resume: (id) => `tenantctl resume ${id}`,
  release: () => 'tenantctl release',
  offboard: (id) => `tenantctl offboard ${id}`,
  move: (id) => `tenantctl move ${id} --instance ID`,
};

/** What the user can do with a tenant in `state` instead, for a refusal's message. */
export function whatToDoInstead(tenantId: string, state: LifecycleState): string {
  const options = LIFECYCLE[state].map((t) => `${t.operation} it with \`${COMMAND[t.operation](tenantId)}\``);
  if (options.length > 0) return options.join(', or ');
  if (state === 'PROVISIONING' || state === 'OFFBOARDING' || state === 'MOVING')
    return 'wait for the execution that holds it to end (`tenantctl tenants` names it)';
  return 'an operator must look at it first (`tenantctl tenants --json` shows its error)';
}

/** The refusal of `operation` on a tenant found in `state`. */
export function refusal(tenantId: string, state: LifecycleState, operation: Operation): string {
  return `tenant ${tenantId} is ${state}, which does not allow ${operation}: ${whatToDoInstead(tenantId, state)}`;
}

/** The table as a Mermaid state diagram (the README shows it). */
export function lifecycleDiagram(): string {
  const lines = ['stateDiagram-v2', '    [*] --> UNKNOWN'];
  for (const [from, transitions] of Object.entries(LIFECYCLE))
    for (const { operation, via, to, onFailure, backOnEarlyFailure } of transitions) {
      if (via) {
        lines.push(`    ${from} --> ${via}: ${operation}`);
        lines.push(`    ${via} --> ${to}: ${operation} succeeded`);
        if (backOnEarlyFailure)
          lines.push(
            `    ${via} --> ${from}: ${operation} failed before ${operation === 'move' ? 'the tenant served from the target' : 'its export'}`,
          );
        if (onFailure) lines.push(`    ${via} --> ${onFailure}: ${operation} failed`);
      } else lines.push(`    ${from} --> ${to}: ${operation}`);
    }
  return [...new Set(lines)].join('\n');
}
