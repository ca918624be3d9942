import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The move workflow's Lambda entry points: one bundle, one export per task state. */
export const claim = taskHandler('move:claim', steps.claim);
export const prepare = taskHandler('move:prepare', steps.prepare);
export const deploy = taskHandler('move:deploy', steps.deploy);
export const sync = taskHandler('move:sync', steps.sync);
export const suspend = taskHandler('move:suspend', steps.suspend);
export const copy = taskHandler('move:copy', steps.copy);
export const switchOver = taskHandler('move:switch', steps.switchOver);
export const resume = taskHandler('move:resume', steps.resume);
export const removeOld = taskHandler('move:remove-old', steps.removeOld);
export const markMoved = taskHandler('move:mark-moved', steps.markMoved);
export const undoSwitch = taskHandler('undo:move:switch', steps.undoSwitch);
export const undoSuspend = taskHandler('undo:move:suspend', steps.undoSuspend);
export const undoDeploy = taskHandler('undo:move:deploy', steps.undoDeploy);
export const undoPrepare = taskHandler('undo:move:prepare', steps.undoPrepare);
export const undoClaim = taskHandler('undo:move:claim', steps.undoClaim);
