-- Customers' own domains (workflow-tasks/domain): one row per domain a tenant asked for, from the request to
-- ACTIVE, or to FAILED (kept, with the reason, until the domain is asked for again). A tenant has at most
-- two at once: its domain and, while a change waits for validation, the new one.
CREATE TABLE tenant_domains (
  tenant_id      text NOT NULL,
  domain         text NOT NULL,
  status         text NOT NULL CHECK (status IN ('PENDING_VALIDATION', 'ACTIVE', 'FAILED', 'REMOVING')),
  -- The records the customer adds (name, type, value, note).
  records        jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- The distribution tenants made for it ({ "site": id, "api": id }): what removing it deletes.
  distribution_tenants jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- What the last check saw (certificate statuses, each record's), and when.
  last_seen      jsonb,
  checked_at     timestamptz,
  reason         text,
  deadline       timestamptz NOT NULL,
  execution_arn  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, domain)
);

-- A domain is held by one tenant at a time, failed attempts aside.
CREATE UNIQUE INDEX tenant_domains_held_idx ON tenant_domains (domain) WHERE status <> 'FAILED';
