import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger of the task Lambdas. Log structure (keys), never events or secrets wholesale. */
export const logger = new Logger({ serviceName: 'tenant-onboarding' });
