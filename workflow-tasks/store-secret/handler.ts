import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('store-secret', runStep);
export const undo = taskHandler('undo:store-secret', undoStep);
