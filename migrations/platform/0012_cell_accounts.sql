-- Cells that are AWS accounts of their own (common/cells.ts): the account a tenant's resources were made
-- in, recorded when it is placed, so its later workflows find them there whatever the settings say since.
-- NULL: the platform's own account (every tenant placed before).
ALTER TABLE tenants ADD COLUMN cell_account text;
-- And the account a shared instance was made in (add-capacity runs in its cell's account).
ALTER TABLE shared_instances ADD COLUMN cell_account text;
