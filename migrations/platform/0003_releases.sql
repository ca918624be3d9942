-- Releases: one row per tenant-release execution, and one row per tenant it planned (its outcome there).
CREATE TABLE releases (
  id            text PRIMARY KEY,          -- the release execution's ARN
  name          text NOT NULL,             -- the execution's name
  version       text NOT NULL,
  canary        integer NOT NULL,
  concurrency   integer NOT NULL,
  max_failures  integer NOT NULL,
  not_planned   integer NOT NULL DEFAULT 0, -- ACTIVE tenants beyond the per-release maximum
  status        text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'STOPPED')),
  stop_reason   text,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);

CREATE INDEX releases_started_idx ON releases (started_at DESC);

CREATE TABLE release_tenants (
  release_id    text NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
  tenant_id     text NOT NULL,
  wave          integer NOT NULL,          -- 0 is the canary; -1: already on the version when planned
  outcome       text NOT NULL CHECK (outcome IN ('planned', 'updated', 'unchanged', 'failed', 'skipped')),
  error         text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (release_id, tenant_id)
);

-- The version ledger, continued: the release that last changed the tenant's versions, the outcome of its
-- last release attempt, and the release now updating it (one at a time per tenant).
ALTER TABLE tenants
  ADD COLUMN versions_release      text,
  ADD COLUMN last_release          text,
  ADD COLUMN last_release_outcome  text,
  ADD COLUMN last_release_error    text,
  ADD COLUMN release_lock          text;
