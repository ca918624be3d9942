import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('deploy-function', runStep);
export const undo = taskHandler('undo:deploy-function', undoStep);
