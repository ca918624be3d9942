import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, TaskEnv } from '../../common/names';
import { aws } from './aws';
import { requiredEnv } from '../../common/env';

/** Puts one platform event on the platform bus; a rejected entry is an error, not a silent drop. */
export async function publishEvent(detailType: string, detail: Record<string, unknown>): Promise<void> {
  const out = await aws().events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: requiredEnv(TaskEnv.eventBusName),
          Source: EVENT_SOURCE,
          DetailType: detailType,
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  if ((out.FailedEntryCount ?? 0) > 0) {
    const entry = out.Entries?.[0];
    throw new Error(
      `PutEvents rejected ${detailType}: ${entry?.ErrorCode ?? ''} ${entry?.ErrorMessage ?? ''}`,
    );
  }
}
