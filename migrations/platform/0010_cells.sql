-- Cells (common/capacity.ts `cells`): each shared instance belongs to one, and so does each tenant (its
-- database, its function, the limits it counts against). Everything before is in the first.
ALTER TABLE shared_instances ADD COLUMN cell text NOT NULL DEFAULT 'cell-1';
ALTER TABLE tenants ADD COLUMN cell text NOT NULL DEFAULT 'cell-1';
CREATE INDEX tenants_cell_idx ON tenants (cell);
