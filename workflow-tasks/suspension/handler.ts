import { taskHandler } from '../lib/handler';
import * as steps from './steps';

/** The suspension workflow's Lambda entry points: one bundle, one export per task state. */
export const claim = taskHandler('suspension:claim', steps.claim);
export const switchToSuspended = taskHandler('suspension:switch-to-suspended', steps.switchToSuspended);
export const switchBack = taskHandler('suspension:switch-back', steps.switchBack);
export const announceSuspended = taskHandler('suspension:announce-suspended', steps.announceSuspended);
export const markActive = taskHandler('suspension:mark-active', steps.markActive);
