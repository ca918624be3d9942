-- Moves (workflow-tasks/move/steps.ts): MOVING while an execution copies a shared tenant to another shared
-- instance. The tenant holds its place on both instances until the move ends; a failed move puts it back
-- ACTIVE where it was.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'MOVING', 'ROLLED_BACK', 'ROLLBACK_FAILED',
                    'OFFBOARDING', 'OFFBOARDING_FAILED', 'OFFBOARDED'));

-- A tenant being moved keeps its domain.
DROP INDEX tenants_domain_claimed_idx;
CREATE UNIQUE INDEX tenants_domain_claimed_idx ON tenants (domain)
  WHERE domain IS NOT NULL
    AND status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'MOVING', 'ROLLBACK_FAILED', 'OFFBOARDING',
                   'OFFBOARDING_FAILED');

-- The move: its execution, the instances it goes from and to, and how far it got (switched: the secret and
-- db_instance name the target; resumed: the tenant serves from the target, its point of no return).
ALTER TABLE tenants ADD COLUMN move jsonb;
