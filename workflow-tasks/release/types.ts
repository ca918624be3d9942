import type { ReleaseInput, TenantOutcome } from '../../common/release';

/** The release as every state of it sees it (`$.release`), set by "Plan release". */
export interface ReleaseInfo extends ReleaseInput {
  /** The release execution's ARN: the ledger's key, and the lock it puts on the tenants it updates. */
  readonly id: string;
  readonly name: string;
  /** The version's zip in the artifact bucket, and the schema version its migrations end at. */
  readonly key: string;
  readonly schemaVersion: number;
}

/** The release execution's state between waves. */
export interface ReleaseState {
  readonly release: ReleaseInfo;
  /** The waves still to run, each a list of tenant ids; the first one runs next. */
  readonly waves: string[][];
  /**
   * Each wave's cell and whether it is that cell's canary, beside `waves` (absent in a state planned before
   * releases went cell by cell: one cell, wave 0 the canary).
   */
  readonly cells?: { readonly cell: string; readonly canary: boolean }[];
  /** Index of the next wave (0 is the canary when `canary` > 0). */
  readonly wave: number;
  /** Set by "Close wave" when the release must not go on. */
  readonly stopReason?: string;
  /** The outcomes of the wave just run ("Release wave"'s result). */
  readonly waveResults?: (TenantOutcome & { rollbackFailed?: boolean })[];
  /** A failure of "Close wave", caught on the way to "Finish release". */
  readonly error?: { readonly Error: string; readonly Cause: string };
}

/** One tenant's state in a wave: its id and the release, then each step's result. */
export interface TenantReleaseState {
  readonly release: ReleaseInfo;
  readonly tenantId: string;
  readonly claim?: {
    claimed: true;
    previousFunctionVersion: string;
    previousCodeVersion: string | null;
    /** The account of the tenant's cell when it has its own (common/cells.ts). */
    cellAccount?: string;
  };
  readonly migration?: { schemaVersion: number; applied: string[] };
  readonly code?: { functionVersion: string; codeVersion: string };
  readonly alias?: { functionVersion: string };
  /** "Prune old versions"' result, or its error (caught: the tenant is updated all the same). */
  readonly pruned?: { deleted: string[] } | { readonly Error: string; readonly Cause: string };
  readonly error?: { readonly Error: string; readonly Cause: string };
}
