import { Pool } from 'pg';
import { migrate } from '../../workflow-tasks/lib/migrate';
import type { AwsHistoryEvent } from './history';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StoredExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly input: string;
  readonly output: string | null;
  readonly error: string | null;
  readonly cause: string | null;
  readonly startDate: Date;
  readonly stopDate: Date | null;
}

interface Row {
  execution_arn: string;
  state_machine_arn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output: string | null;
  error: string | null;
  cause: string | null;
  start_date: Date;
  stop_date: Date | null;
}

/** Executions and their histories, kept in PostgreSQL so they survive a restart of the local platform. */
export class ExecutionStore {
  private constructor(private readonly pool: Pool) {}

  static async open(connection: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
  }) {
    const pool = new Pool({ ...connection, max: 5 });
    pool.on('error', () => undefined); // an idle connection dropped (server stopping): the next query reconnects
    const client = await pool.connect();
    try {
      await migrate(client, 'stepfunctions');
    } finally {
      client.release();
    }
    return new ExecutionStore(pool);
  }

  /** Inserts a RUNNING execution; false when the name is taken. */
  async create(
    e: Pick<StoredExecution, 'executionArn' | 'stateMachineArn' | 'name' | 'input' | 'startDate'>,
  ): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO executions (execution_arn, state_machine_arn, name, status, input, start_date)
       VALUES ($1, $2, $3, 'RUNNING', $4, $5) ON CONFLICT DO NOTHING`,
      [e.executionArn, e.stateMachineArn, e.name, e.input, e.startDate],
    );
    return result.rowCount === 1;
  }

  async appendEvents(executionArn: string, events: AwsHistoryEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query(
      `INSERT INTO execution_events (execution_arn, id, event)
       SELECT $1, (e->>'id')::int, e FROM jsonb_array_elements($2::jsonb) AS e`,
      [executionArn, JSON.stringify(events)],
    );
  }

  async finish(
    executionArn: string,
    fields: { status: ExecutionStatus; output?: string; error?: string; cause?: string; stopDate: Date },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE executions SET status = $2, output = $3, error = $4, cause = $5, stop_date = $6
        WHERE execution_arn = $1 AND status = 'RUNNING'`,
      [
        executionArn,
        fields.status,
        fields.output ?? null,
        fields.error ?? null,
        fields.cause ?? null,
        fields.stopDate,
      ],
    );
  }

  async get(executionArn: string): Promise<StoredExecution | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM executions WHERE execution_arn = $1', [
      executionArn,
    ]);
    return rows[0] && toExecution(rows[0]);
  }

  async getByName(stateMachineArn: string, name: string): Promise<StoredExecution | undefined> {
    const { rows } = await this.pool.query<Row>(
      'SELECT * FROM executions WHERE state_machine_arn = $1 AND name = $2',
      [stateMachineArn, name],
    );
    return rows[0] && toExecution(rows[0]);
  }

  /** A state machine's executions, newest first. */
  async list(
    stateMachineArn: string,
    status: ExecutionStatus | undefined,
    offset: number,
    limit: number,
  ): Promise<StoredExecution[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM executions WHERE state_machine_arn = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY start_date DESC, execution_arn OFFSET $3 LIMIT $4`,
      [stateMachineArn, status ?? null, offset, limit],
    );
    return rows.map(toExecution);
  }

  async history(
    executionArn: string,
    offset: number,
    limit: number,
    reverse: boolean,
  ): Promise<AwsHistoryEvent[]> {
    const { rows } = await this.pool.query<{ event: AwsHistoryEvent }>(
      `SELECT event FROM execution_events WHERE execution_arn = $1
        ORDER BY id ${reverse ? 'DESC' : 'ASC'} OFFSET $2 LIMIT $3`,
      [executionArn, offset, limit],
    );
    return rows.map((r) => r.event);
  }

  /**
   * Executions left RUNNING by a platform that died (SIGKILL, power loss): they can never finish, so they are
   * failed, with an ExecutionFailed event, instead of staying RUNNING forever. Returns their ARNs.
   */
  async failOrphans(error: string, cause: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ execution_arn: string; next_id: number }>(
      `UPDATE executions e SET status = 'FAILED', error = $1, cause = $2, stop_date = now()
        WHERE status = 'RUNNING'
        RETURNING execution_arn,
          (SELECT COALESCE(max(id), 0) + 1 FROM execution_events v WHERE v.execution_arn = e.execution_arn) AS next_id`,
      [error, cause],
    );
    for (const row of rows) {
      await this.appendEvents(row.execution_arn, [
        {
          id: row.next_id,
          previousEventId: row.next_id - 1,
          timestamp: Date.now(),
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error, cause },
        },
      ]);
    }
    return rows.map((r) => r.execution_arn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function toExecution(row: Row): StoredExecution {
  return {
    executionArn: row.execution_arn,
    stateMachineArn: row.state_machine_arn,
    name: row.name,
    status: row.status,
    input: row.input,
    output: row.output,
    error: row.error,
    cause: row.cause,
    startDate: row.start_date,
    stopDate: row.stop_date,
  };
}
