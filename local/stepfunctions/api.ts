import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionStatus, StoredExecution } from './execution-store';
import type { AwsHistoryEvent } from './history';
import { ApiError, serveAwsJson, type Body, type Operation } from '../endpoint/aws-json';
import { allOf, type LocalStateMachine, type StepFunctionsEngine } from './engine';

const MAX_INPUT_BYTES = 256 * 1024;
const NAME_PATTERN = /^[0-9A-Za-z_-]{1,80}$/;
const STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/**
 * The Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.*`) of the local engine, served on
 * the platform's one AWS endpoint (endpoint/endpoint.ts). The AWS SDKs and the aws CLI talk to it with an
 * endpoint URL and any credentials.
 */
export class LocalStepFunctionsApi {
  private readonly createdAt = new Date();
  private readonly operations: Record<string, Operation>;

  constructor(
    private readonly engine: StepFunctionsEngine,
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
    };
  }

  /** Answers one Step Functions request whose body (`raw`) the AWS endpoint has read. */
  handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    return serveAwsJson(req, res, raw, {
      operations: this.operations,
      contentType: 'application/x-amz-json-1.0',
      log: this.log,
    });
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
      const started = await this.engine.startExecution(input, { name, stateMachineArn: stateMachine.arn });
      return { executionArn: started.executionArn, startDate: seconds(started.startDate) };
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
      // As on AWS: the same name and input while it runs is the same request; anything else is a conflict.
      const existing = await this.engine.store.getByName(stateMachine.arn, name);
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
    const events = await this.engine.store.history(
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
    const rows = await this.engine.store.list(
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
    await this.engine.stopExecution(e.executionArn, reason);
    const stopped = await this.execution(e.executionArn);
    return { stopDate: seconds(stopped.stopDate ?? new Date()) };
  }

  private listStateMachines(): Promise<Body> {
    return Promise.resolve({
      stateMachines: allOf(this.engine.stateMachines).map((m) => ({
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
      roleArn: this.engine.roleArn,
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
      roleArn: this.engine.roleArn,
      updateDate: seconds(this.createdAt),
    };
  }

  private stateMachine(arn: unknown): LocalStateMachine {
    const stateMachine = this.engine.stateMachine(arn);
    if (!stateMachine) {
      throw new ApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${String(arn).slice(0, 200)}'`,
      );
    }
    return stateMachine;
  }

  private async execution(arn: unknown): Promise<StoredExecution> {
    const e = typeof arn === 'string' ? await this.engine.store.get(arn) : undefined;
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
