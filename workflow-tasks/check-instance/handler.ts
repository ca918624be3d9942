import { taskHandler } from '../lib/handler';
import { run as runStep } from './step';

export const run = taskHandler('check-instance', runStep);
