import { taskHandler } from '../lib/handler';
import { forget as forgetSource, run as runStep } from './step';

export const run = taskHandler('inspect-source', runStep);
/** The rollback's last undo, and the step after the tenant is live: the same deletion. */
export const undo = taskHandler('forget-import-source', forgetSource);
