import { STEPS } from '../../common/steps';
import { STEP_PERMISSIONS } from '../../infra/step-permissions';

describe("each step's permissions, beside its code", () => {
  it('say what every step may call, and what its undo may call exactly when it has one', () => {
    for (const step of STEPS)
      expect([step.id, STEP_PERMISSIONS[step.id].undo !== undefined]).toEqual([
        step.id,
        step.undoStateName !== undefined,
      ]);
  });
});
