/**
 * Stands in for **Amazon EventBridge** on the platform bus: PutEvents (AWS JSON 1.1,
 * `AWSEvents.PutEvents`) runs the rules the stack deploys, each starting its state machine with the
 * event's `detail` as input. The AWS endpoint also forwards every PutEvents to the emulator, so rules it
 * runs itself (an SQS target in a test) see the event too. On the default bus, Step Functions' own
 * "Execution Status Change" events (stepFunctionsEvent) run the rule that starts a cleanup.
 *
 * Where the real thing differs: only the platform's own rules run here, synchronously with the request;
 * there is no retry policy or dead-letter queue on a target.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLEANED_UP_WORKFLOWS, executionInterruptedPattern } from '../../common/cleanup';
import {
  PlatformNames,
  TENANT_DOMAIN_REQUESTED_PATTERN,
  TENANT_OFFBOARDING_REQUESTED_PATTERN,
  TENANT_SIGNED_UP_PATTERN,
} from '../../common/names';
import { ApiError, serveAwsJson, type Body } from '../endpoint/aws-json';
import type { ExecutionRecord, LocalStateMachine, StepFunctionsEngine } from '../stepfunctions/engine';
import { matchesPattern } from './pattern';
import { handler as startSignup } from '../../workflow-tasks/signup/handler';

export class LocalEventBus {
  constructor(
    private readonly engine: StepFunctionsEngine,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Answers one PutEvents request whose body (`raw`) the AWS endpoint has read. */
  handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    return serveAwsJson(req, res, raw, {
      operations: { 'AWSEvents.PutEvents': (b) => this.putEvents(b) },
      contentType: 'application/x-amz-json-1.1',
      log: this.log,
    });
  }

  /**
   * PutEvents on the platform bus: an entry matching the `TenantSignedUp` rule starts an onboarding with
   * its `detail` as input, one matching `TenantOffboardingRequested` an offboarding, one matching
   * `TenantDomainRequested` the domain workflow, exactly as the deployed rules do; other well-formed entries are accepted and
   * ignored; malformed ones come back in FailedEntries with a reason.
   */
  private async putEvents(body: Body): Promise<Body> {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
      throw new ApiError('ValidationException', 'Entries must be a list of 1 to 10 entries');
    }
    const results: Body[] = [];
    let failed = 0;
    for (const raw of entries as unknown[]) {
      const outcome = await this.putEvent(raw);
      if ('ErrorCode' in outcome) failed += 1;
      results.push(outcome);
    }
    return { FailedEntryCount: failed, Entries: results };
  }

  private async putEvent(raw: unknown): Promise<Body> {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Body;
    const { Source, DetailType, Detail } = entry;
    const bus = typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default';
    if (typeof Source !== 'string' || Source === '')
      return rejected('InvalidArgument', 'Parameter Source is not valid');
    if (typeof DetailType !== 'string' || DetailType === '') {
      return rejected('InvalidArgument', 'Parameter DetailType is not valid');
    }
    if (typeof Detail !== 'string') return rejected('InvalidArgument', 'Parameter Detail is not valid');
    let detail: unknown;
    try {
      detail = JSON.parse(Detail);
    } catch {
      return rejected('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return rejected('MalformedDetail', 'Detail is malformed: it must be a JSON object.');
    }
    const eventId = randomUUID();
    const onPlatformBus =
      bus === PlatformNames.eventBus || bus.endsWith(`:event-bus/${PlatformNames.eventBus}`);
    await this.route(onPlatformBus ? 'platform' : 'other', {
      id: eventId,
      source: Source,
      'detail-type': DetailType,
      detail: detail as Record<string, unknown>,
    });
    // Anything else (the platform's own TenantProvisioned, other buses) has no rule here: accepted, ignored.
    return { EventId: eventId };
  }

  /**
   * What Step Functions sends the default bus when an execution ends: "Execution Status Change", its
   * detail as on AWS (status, ARNs, dates in ms, input, output, error, cause). Its rules run as for PutEvents.
   */
  async stepFunctionsEvent(record: ExecutionRecord, stateMachine: LocalStateMachine): Promise<void> {
    await this.route('default', {
      id: randomUUID(),
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn: record.executionArn,
        stateMachineArn: stateMachine.arn,
        name: record.name,
        status: record.status,
        startDate: record.startDate.getTime(),
        stopDate: record.stopDate?.getTime() ?? null,
        input: JSON.stringify(record.input),
        output: record.output === undefined ? null : JSON.stringify(record.output),
        error: record.error ?? null,
        cause: record.cause ?? null,
      },
    });
  }

  /** Runs the rules of `bus` on one event; a target that fails to start shows in the log (as on AWS). */
  private async route(
    bus: 'platform' | 'default' | 'other',
    event: { id: string; source: string; 'detail-type': string; detail: Record<string, unknown> },
  ): Promise<void> {
    const machines = this.engine.stateMachines;
    const { onboarding, offboarding, cleanup, domain } = machines;
    // The signup rule's target is a Lambda (it names the execution for the event): called in-process.
    if (bus === 'platform' && matchesPattern(TENANT_SIGNED_UP_PATTERN, event))
      await startSignup(event).catch((error: Error) => {
        this.log(`${event['detail-type']} ${event.id}: could not start ${onboarding.name}: ${error.message}`);
      });
    const rules = [
      { bus: 'platform', pattern: TENANT_OFFBOARDING_REQUESTED_PATTERN, stateMachine: offboarding },
      { bus: 'platform', pattern: TENANT_DOMAIN_REQUESTED_PATTERN, stateMachine: domain },
      {
        bus: 'default',
        pattern: executionInterruptedPattern(CLEANED_UP_WORKFLOWS.map((w) => machines[w].arn)),
        stateMachine: cleanup,
      },
    ];
    for (const { pattern, stateMachine } of rules.filter((r) => r.bus === bus))
      if (matchesPattern(pattern, event))
        await this.engine
          .startExecution(event.detail, { stateMachineArn: stateMachine.arn })
          .catch((error: Error) => {
            this.log(
              `${event['detail-type']} ${event.id}: could not start ${stateMachine.name}: ${error.message}`,
            );
          });
  }
}

function rejected(ErrorCode: string, ErrorMessage: string): Body {
  return { ErrorCode, ErrorMessage };
}
