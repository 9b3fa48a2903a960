-- Approvals: one row per gate a worker asked to open, pending until a person answers.

CREATE TABLE approvals (
    approval_id  text PRIMARY KEY,
    project_id   text   NOT NULL,
    request_id   text   NOT NULL,
    task_id      text   NOT NULL,
    area         text   NOT NULL,
    role         text   NOT NULL,
    gate         text   NOT NULL,
    status       text   NOT NULL,
    attempt      int    NOT NULL,
    round        int    NOT NULL,
    deadline_ms  bigint NOT NULL,
    reason       text   NOT NULL DEFAULT '',
    decided_by   text,
    requested_at timestamptz NOT NULL,
    decided_at   timestamptz,
    tenant       text   NOT NULL DEFAULT 'default'
);
CREATE INDEX approvals_pending ON approvals (tenant, status, requested_at, approval_id);
