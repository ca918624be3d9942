-- The local Step Functions API's own storage (on AWS, Step Functions keeps this).
CREATE TABLE executions (
  execution_arn      text PRIMARY KEY,
  state_machine_arn  text NOT NULL,
  name               text NOT NULL UNIQUE,
  status             text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
  input              text NOT NULL,
  output             text,
  error              text,
  cause              text,
  start_date         timestamptz NOT NULL,
  stop_date          timestamptz
);

CREATE INDEX executions_status_start_idx ON executions (status, start_date DESC);
CREATE INDEX executions_start_idx ON executions (start_date DESC);

CREATE TABLE execution_events (
  execution_arn      text NOT NULL REFERENCES executions (execution_arn) ON DELETE CASCADE,
  id                 integer NOT NULL,
  event              jsonb NOT NULL,
  PRIMARY KEY (execution_arn, id)
);
