-- Capacity (common/capacity.ts, workflow-tasks/records/capacity.ts): the shared PostgreSQL instances tenants
-- are placed on, and each shared tenant's. The instance the platform was deployed with is `shared-1`
-- (written by the first placement, its endpoint from the task environment); the ones `add-capacity` makes
-- are `shared-2`, `shared-3`, ... (never reused: a failed one stays FAILED, with the reason).
CREATE TABLE shared_instances (
  id                text PRIMARY KEY,
  -- Numbered in the order they were asked for: placement fills the oldest with room first.
  seq               integer NOT NULL UNIQUE,
  status            text NOT NULL CHECK (status IN ('CREATING', 'AVAILABLE', 'FAILED')),
  -- The RDS instance (absent for shared-1, which CDK made) and where it answers, once AVAILABLE.
  rds_instance_id   text,
  host              text,
  port              integer,
  master_secret_arn text,
  execution_arn     text,
  reason            text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- A shared tenant's instance; NULL for a dedicated tenant (its own). Every shared tenant so far is on shared-1.
ALTER TABLE tenants ADD COLUMN db_instance text;
UPDATE tenants SET db_instance = 'shared-1' WHERE tier = 'shared';
CREATE INDEX tenants_db_instance_idx ON tenants (db_instance);
