import { taskHandler } from '../lib/handler';
import { run as runStep, undo as undoStep } from './step';

export const run = taskHandler('register-tenant', runStep);
export const undo = taskHandler('undo:register-tenant', undoStep);
