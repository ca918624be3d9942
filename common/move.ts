/** State names of the move workflow (a shared tenant to another shared instance), for CDK and the local runtime. */
export const MoveStates = {
  claim: 'Check the tenant and the target',
  refused: 'Request refused',
  prepare: 'Create the database on the target',
  deploy: "Deploy the API in the target's account",
  sync: 'Copy while serving',
  synced: 'Copy caught up?',
  waitSync: 'Wait for the copy',
  suspend: 'Suspend the tenant',
  copy: 'Copy and verify the data',
  switchOver: 'Switch to the target',
  resume: 'Resume the tenant',
  routed: 'Domains routed?',
  waitRouting: "Wait for the domains' routing",
  removeOld: 'Remove the old copy',
  markMoved: 'Mark moved',
  moved: 'Tenant moved',
  undoSwitch: 'Rollback: back to the source',
  undoSuspend: 'Rollback: resume',
  undoDeploy: "Rollback: remove the target's API",
  undoPrepare: 'Rollback: drop the target database',
  undoClaim: 'Rollback: mark active',
  failed: 'Move failed',
} as const;

/** Seconds between two rounds of "Copy while serving" (locally shortened, as every wait loop). */
export const SYNC_WAIT_SECONDS = 5;

/**
 * Seconds between two resumes while CloudFront deploys a move's change of the tenant's domains' routing
 * (to another account; minutes on AWS).
 */
export const ROUTING_WAIT_SECONDS = 15;

/** A shared instance's id as a move's `toInstance` names it. */
export const SHARED_INSTANCE_ID = /^shared-[1-9][0-9]{0,5}$/;

/** A cell's id as a move's `toCell` names it. */
export const CELL_ID = /^cell-[1-9][0-9]{0,3}$/;
