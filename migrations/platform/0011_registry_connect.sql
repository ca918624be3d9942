-- Only the roles that own or administer the registry connect to it: none that the platform makes for
-- another purpose (a tenant's role, a move's replication role, which could stream a database it may
-- connect to) may. Its owner and superusers keep their own right.
DO $$
BEGIN
  EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
