-- Suspension: a SUSPENDED tenant keeps its data and resources; its API answers 503 but on /health.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'ROLLED_BACK', 'ROLLBACK_FAILED', 'OFFBOARDED'));

-- A suspended tenant keeps its domain.
DROP INDEX tenants_domain_claimed_idx;
CREATE UNIQUE INDEX tenants_domain_claimed_idx ON tenants (domain)
  WHERE domain IS NOT NULL AND status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'ROLLBACK_FAILED');

-- While suspended: the execution that suspended it, when, and the function version `live` goes back to.
ALTER TABLE tenants ADD COLUMN suspension jsonb;
