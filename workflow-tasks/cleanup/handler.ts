import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The cleanup workflow's Lambda entry point. */
export const cleanUp = taskHandler('cleanup:clean-up', steps.cleanUp);
