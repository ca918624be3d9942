-- The version ledger: which code (the tenant function's live version, by the content of its package) and
-- which schema (the last tenant migration applied) each tenant runs, and since when.
ALTER TABLE tenants
  ADD COLUMN code_version        text,
  ADD COLUMN schema_version      integer,
  ADD COLUMN versions_updated_at timestamptz;
