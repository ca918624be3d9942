/** State names of the suspension workflow, shared by the CDK construct and the local runtime. */
export const SuspensionStates = {
  claim: 'Check the tenant',
  refused: 'Request refused',
  which: 'Suspend or resume?',
  switchToSuspended: 'Switch to the suspended version',
  announce: 'Announce suspension',
  suspended: 'Tenant suspended',
  undoSwitch: 'Rollback: switch back',
  undoMarkActive: 'Rollback: mark active',
  suspensionFailed: 'Suspension failed',
  switchBack: 'Switch back to the live version',
  markActive: 'Mark active',
  resumed: 'Tenant resumed',
} as const;
