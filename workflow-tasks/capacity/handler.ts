import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The add-capacity workflow's Lambda entry points: one bundle, one export per task state. */
export const create = taskHandler('capacity:create', steps.create);
export const check = taskHandler('capacity:check', steps.check);
export const register = taskHandler('capacity:register', steps.register);
export const rollback = taskHandler('undo:capacity:delete', steps.rollback);
