-- More than one state machine (onboarding, release): an execution's name is unique within its machine.
ALTER TABLE executions DROP CONSTRAINT executions_name_key;
ALTER TABLE executions ADD CONSTRAINT executions_machine_name_key UNIQUE (state_machine_arn, name);
CREATE INDEX executions_machine_start_idx ON executions (state_machine_arn, start_date DESC);
