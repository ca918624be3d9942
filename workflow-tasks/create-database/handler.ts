import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('create-database', runStep);
export const undo = taskHandler('undo:create-database', undoStep);
