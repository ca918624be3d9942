-- Offboarding: OFFBOARDING while an execution exports and removes the tenant, OFFBOARDED once everything is
-- removed (the export kept in the archive bucket), OFFBOARDING_FAILED when a removal still failed after its
-- retries (running the offboarding again converges).
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'ROLLED_BACK', 'ROLLBACK_FAILED',
                    'OFFBOARDING', 'OFFBOARDING_FAILED', 'OFFBOARDED'));

-- A tenant being offboarded keeps its domain until it is gone.
DROP INDEX tenants_domain_claimed_idx;
CREATE UNIQUE INDEX tenants_domain_claimed_idx ON tenants (domain)
  WHERE domain IS NOT NULL
    AND status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'ROLLBACK_FAILED', 'OFFBOARDING', 'OFFBOARDING_FAILED');

-- The offboarding: the execution, the status it had before (a failure before the export is verified puts it
-- back), when it started, and once verified the export's bucket, key, row counts and retention date.
ALTER TABLE tenants ADD COLUMN offboarding jsonb;
