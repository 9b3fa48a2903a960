-- The org chart: the roles the CTO hired per project area (role.hired / role.released), and
-- the service instances that acted for each of them (from every event's actor).

CREATE TABLE roles (
    project_id  text NOT NULL,
    name        text NOT NULL,
    role        text NOT NULL,
    area        text NOT NULL,
    status      text NOT NULL,
    hired_at    timestamptz,
    released_at timestamptz,
    reason      text,
    tenant      text NOT NULL DEFAULT 'default',
    PRIMARY KEY (project_id, name)
);

CREATE TABLE role_instances (
    project_id text   NOT NULL,
    role       text   NOT NULL,
    area       text   NOT NULL,
    instance   text   NOT NULL,
    events     bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    tenant     text   NOT NULL DEFAULT 'default',
    PRIMARY KEY (project_id, role, area, instance)
);
CREATE INDEX role_instances_tenant ON role_instances (tenant, role, area);
