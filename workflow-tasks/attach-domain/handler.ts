import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('attach-domain', runStep);
export const undo = taskHandler('undo:attach-domain', undoStep);
