-- The platform registry: one row per tenant, owned by the execution that is onboarding it.
CREATE TABLE tenants (
  id             text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]*[a-z0-9]$' AND length(id) BETWEEN 3 AND 32),
  status         text NOT NULL CHECK (status IN ('PROVISIONING', 'ACTIVE', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'OFFBOARDED')),
  tier           text NOT NULL CHECK (tier IN ('shared', 'dedicated')),
  company_name   text NOT NULL,
  admin_email    text NOT NULL,
  domain         text,
  execution_arn  text NOT NULL,
  resources      jsonb NOT NULL DEFAULT '{}'::jsonb,
  error          jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  activated_at   timestamptz
);

CREATE INDEX tenants_status_idx ON tenants (status);

-- A domain belongs to at most one tenant that is live or being onboarded.
CREATE UNIQUE INDEX tenants_domain_claimed_idx ON tenants (domain)
  WHERE domain IS NOT NULL AND status IN ('PROVISIONING', 'ACTIVE', 'ROLLBACK_FAILED');
