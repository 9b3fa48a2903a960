-- Tenants: every read-model row names the tenant of the project it belongs to, so each API
-- read filters by the caller's tenants. Rows written before tenants belong to 'default'.

ALTER TABLE projects ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE tasks ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE events ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE alerts ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE rejections ADD COLUMN tenant text NOT NULL DEFAULT 'default';
CREATE INDEX projects_tenant ON projects (tenant, project_id);
