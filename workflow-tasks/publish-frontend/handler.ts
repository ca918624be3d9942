import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('publish-frontend', runStep);
export const undo = taskHandler('undo:publish-frontend', undoStep);
