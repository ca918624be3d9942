import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  PlatformNames,
  TENANT_OFFBOARDING_REQUESTED_PATTERN,
  TENANT_SIGNED_UP_PATTERN,
} from '../common/names';
import { matchesPattern } from './event-pattern';
import type { ExecutionStatus, StoredExecution } from './execution-store';
import type { AwsHistoryEvent } from './history';
import { allOf, type LocalPlatform, type LocalStateMachine } from './runtime';

/** An error the API returns as AWS does: HTTP 400 with `__type` and `message`. */
class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;
type Operation = (body: Body) => Promise<Body>;

const MAX_INPUT_BYTES = 256 * 1024;
const NAME_PATTERN = /^[0-9A-Za-z_-]{1,80}$/;
const STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * The Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.*`) and EventBridge PutEvents
 * (AWS JSON 1.1, `AWSEvents.PutEvents`) of the local platform, served on its one AWS endpoint
 * (aws-endpoint.ts). The AWS SDKs and the aws CLI talk to it with an endpoint URL and any credentials.
 */
export class LocalAwsApi {
  private readonly createdAt = new Date();
  private readonly operations: Record<string, Operation>;

  constructor(
    private readonly platform: LocalPlatform,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.operations = {
      'AWSStepFunctions.StartExecution': (b) => this.startExecution(b),
      'AWSStepFunctions.DescribeExecution': (b) => this.describeExecution(b),
      'AWSStepFunctions.GetExecutionHistory': (b) => this.getExecutionHistory(b),
      'AWSStepFunctions.ListExecutions': (b) => this.listExecutions(b),
      'AWSStepFunctions.StopExecution': (b) => this.stopExecution(b),
      'AWSStepFunctions.ListStateMachines': () => this.listStateMachines(),
      'AWSStepFunctions.DescribeStateMachine': (b) => this.describeStateMachine(b),
      'AWSStepFunctions.DescribeStateMachineForExecution': (b) => this.describeStateMachineForExecution(b),
      'AWSEvents.PutEvents': (b) => this.putEvents(b),
    };
  }

  /** Answers one request whose body (`raw`, at most MAX_BODY_BYTES) the AWS endpoint has read. */
  async handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const contentType = target.startsWith('AWSEvents.')
      ? 'application/x-amz-json-1.1'
      : 'application/x-amz-json-1.0';
    const requestId = randomUUID();
    const send = (status: number, body: Body) => {
      res.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': requestId });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST')
        throw new ApiError('UnknownOperationException', 'Only POST is supported', 404);
      const operation = this.operations[target];
      if (!operation)
        throw new ApiError('UnknownOperationException', `Unknown operation ${target.slice(0, 100)}`);
      send(200, await operation(readJson(raw)));
    } catch (error) {
      if (error instanceof ApiError) {
        send(error.status, { __type: error.type, message: error.message });
      } else {
        this.log(`${target}: ${(error as Error).message}`);
        send(500, { __type: 'InternalFailure', message: 'The local platform failed to process the request' });
      }
    }
  }

  private async startExecution(body: Body): Promise<Body> {
    const stateMachine = this.stateMachine(body.stateMachineArn);
    const name = body.name === undefined ? randomUUID() : body.name;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new ApiError(
        'InvalidName',
        'Invalid Name: the name must be 1-80 characters of letters, digits, "-" and "_"',
      );
    }
    const text = body.input === undefined ? '{}' : body.input;
    if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_INPUT_BYTES) {
      throw new ApiError(
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: must be a JSON string of at most 256 KiB',
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch {
      throw new ApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
    }
    try {
      const started = await this.platform.startExecution(input, { name, stateMachineArn: stateMachine.arn });
      return { executionArn: started.executionArn, startDate: seconds(started.startDate) };
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      // As on AWS: the same name and input while it runs is the same request; anything else is a conflict.
      const existing = await this.platform.store.getByName(stateMachine.arn, name);
      if (existing?.status === 'RUNNING' && sameJson(existing.input, text)) {
        return { executionArn: existing.executionArn, startDate: seconds(existing.startDate) };
      }
      throw new ApiError(
        'ExecutionAlreadyExists',
        `Execution Already Exists: '${existing?.executionArn ?? name}'`,
      );
    }
  }

  private async describeExecution(body: Body): Promise<Body> {
    const e = await this.execution(body.executionArn);
    return {
      ...executionItem(e),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== null ? { output: e.output, outputDetails: { included: true } } : {}),
      ...(e.error !== null ? { error: e.error } : {}),
      ...(e.cause !== null ? { cause: e.cause } : {}),
    };
  }

  private async getExecutionHistory(body: Body): Promise<Body> {
    const e = await this.execution(body.executionArn);
    const limit = pageSize(body.maxResults);
    const offset = decodeToken(body.nextToken);
    const events = await this.platform.store.history(
      e.executionArn,
      offset,
      limit + 1,
      body.reverseOrder === true,
    );
    const includeData = body.includeExecutionData !== false;
    return {
      events: events.slice(0, limit).map((event) => toWire(event, includeData)),
      ...(events.length > limit ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  private async listExecutions(body: Body): Promise<Body> {
    const stateMachine = this.stateMachine(body.stateMachineArn);
    const status = body.statusFilter;
    if (status !== undefined && !STATUSES.includes(status as ExecutionStatus)) {
      throw new ApiError('ValidationException', `statusFilter must be one of ${STATUSES.join(', ')}`);
    }
    const limit = pageSize(body.maxResults);
    const offset = decodeToken(body.nextToken);
    const rows = await this.platform.store.list(
      stateMachine.arn,
      status as ExecutionStatus | undefined,
      offset,
      limit + 1,
    );
    return {
      executions: rows.slice(0, limit).map(executionItem),
      ...(rows.length > limit ? { nextToken: encodeToken(offset + limit) } : {}),
    };
  }

  private async stopExecution(body: Body): Promise<Body> {
    const e = await this.execution(body.executionArn);
    const reason = {
      error: typeof body.error === 'string' ? body.error.slice(0, 256) : undefined,
      cause: typeof body.cause === 'string' ? body.cause.slice(0, 32768) : undefined,
    };
    await this.platform.stopExecution(e.executionArn, reason);
    const stopped = await this.execution(e.executionArn);
    return { stopDate: seconds(stopped.stopDate ?? new Date()) };
  }

  private listStateMachines(): Promise<Body> {
    return Promise.resolve({
      stateMachines: allOf(this.platform.stateMachines).map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: 'STANDARD',
        creationDate: seconds(this.createdAt),
      })),
    });
  }

  private describeStateMachine(body: Body): Promise<Body> {
    const stateMachine = this.stateMachine(body.stateMachineArn);
    return Promise.resolve({
      stateMachineArn: stateMachine.arn,
      name: stateMachine.name,
      status: 'ACTIVE',
      definition: JSON.stringify(stateMachine.definition),
      roleArn: this.platform.roleArn,
      type: 'STANDARD',
      creationDate: seconds(this.createdAt),
    });
  }

  /** The state machine an execution ran (locally its definition does not change while the platform runs). */
  private async describeStateMachineForExecution(body: Body): Promise<Body> {
    const e = await this.execution(body.executionArn);
    const stateMachine = this.stateMachine(e.stateMachineArn);
    return {
      stateMachineArn: stateMachine.arn,
      name: stateMachine.name,
      definition: JSON.stringify(stateMachine.definition),
      roleArn: this.platform.roleArn,
      updateDate: seconds(this.createdAt),
    };
  }

  /**
   * PutEvents on the platform bus: an entry matching the `TenantSignedUp` rule starts an onboarding with
   * its `detail` as input, one matching `TenantOffboardingRequested` an offboarding, exactly as the deployed
   * rules do; other well-formed entries are accepted and
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
    const event = { source: Source, 'detail-type': DetailType, detail };
    // The rules' targets: a failure to start shows in the platform's log, not to the sender (as on AWS).
    const rules = [
      { pattern: TENANT_SIGNED_UP_PATTERN, stateMachine: this.platform.stateMachines.onboarding },
      {
        pattern: TENANT_OFFBOARDING_REQUESTED_PATTERN,
        stateMachine: this.platform.stateMachines.offboarding,
      },
    ];
    for (const { pattern, stateMachine } of rules)
      if (onPlatformBus && matchesPattern(pattern, event))
        await this.platform
          .startExecution(detail, { stateMachineArn: stateMachine.arn })
          .catch((error: Error) => {
            this.log(`${DetailType} ${eventId}: could not start ${stateMachine.name}: ${error.message}`);
          });
    // Anything else (the platform's own TenantProvisioned, other buses) has no rule here: accepted, ignored.
    return { EventId: eventId };
  }

  private stateMachine(arn: unknown): LocalStateMachine {
    const stateMachine = this.platform.stateMachine(arn);
    if (!stateMachine) {
      throw new ApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${String(arn).slice(0, 200)}'`,
      );
    }
    return stateMachine;
  }

  private async execution(arn: unknown): Promise<StoredExecution> {
    const e = typeof arn === 'string' ? await this.platform.store.get(arn) : undefined;
    if (!e)
      throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn).slice(0, 200)}'`);
    return e;
  }
}

/** The fields ListExecutions gives each execution (DescribeExecution adds input, output, error, cause). */
function executionItem(e: StoredExecution): Body {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    ...(e.stopDate ? { stopDate: seconds(e.stopDate) } : {}),
  };
}

function rejected(ErrorCode: string, ErrorMessage: string): Body {
  return { ErrorCode, ErrorMessage };
}

function readJson(raw: Buffer): Body {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Body;
  } catch {
    // fall through
  }
  throw new ApiError('SerializationException', 'The request body is not a JSON object');
}

/** AWS JSON protocols send timestamps as epoch seconds. */
function seconds(date: Date | number): number {
  return (typeof date === 'number' ? date : date.getTime()) / 1000;
}

function toWire(event: AwsHistoryEvent, includeData: boolean): Body {
  const wire: Body = { ...event, timestamp: seconds(event.timestamp) };
  if (includeData) return wire;
  for (const [key, value] of Object.entries(wire)) {
    if (typeof value === 'object' && value !== null) {
      wire[key] = Object.fromEntries(
        Object.entries(value as Body).filter(([field]) => field !== 'input' && field !== 'output'),
      );
    }
  }
  return wire;
}

function pageSize(value: unknown): number {
  if (value === undefined || value === 0) return 100;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
    throw new ApiError('ValidationException', 'maxResults must be an integer from 0 to 1000');
  }
  return value;
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

function decodeToken(token: unknown): number {
  if (token === undefined || token === null) return 0;
  if (typeof token !== 'string') throw new ApiError('InvalidToken', 'Invalid Token');
  try {
    const { offset } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      offset?: unknown;
    };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new ApiError('InvalidToken', 'Invalid Token');
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
