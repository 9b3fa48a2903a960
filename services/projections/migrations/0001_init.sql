-- Read models of the event log (DESIGN §6). Applied inside the projection's own schema
-- (search_path is set to it), so a rebuild can build a fresh schema beside the live one.
-- Versioned with care: add a new numbered file, never edit a shipped one.

CREATE TABLE positions (
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

CREATE TABLE dead_letters (
    topic     text   NOT NULL,
    partition int    NOT NULL,
    "offset"  bigint NOT NULL,
    error     text   NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);

CREATE TABLE events (
    event_id       text PRIMARY KEY,
    topic          text   NOT NULL,
    partition      int    NOT NULL,
    "offset"       bigint NOT NULL,
    type           text   NOT NULL,
    project_id     text   NOT NULL,
    request_id     text   NOT NULL,
    causation_id   text,
    actor_role     text   NOT NULL,
    actor_area     text,
    actor_instance text   NOT NULL,
    occurred_at    timestamptz NOT NULL,
    artifacts      jsonb  NOT NULL,
    payload        jsonb  NOT NULL,
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX events_project ON events (project_id, partition, "offset");
CREATE INDEX events_request ON events (request_id, partition, "offset");

CREATE TABLE projects (
    project_id  text PRIMARY KEY,
    name        text   NOT NULL,
    status      text   NOT NULL,
    request_id  text   NOT NULL,
    spec_uri    text,
    spec_sha256 text,
    modules     int    NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE modules (
    project_id     text NOT NULL,
    area           text NOT NULL,
    status         text NOT NULL,
    backlog_total  int  NOT NULL DEFAULT 0,
    tasks_total    int  NOT NULL DEFAULT 0,
    tasks_verified int  NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (project_id, area)
);

CREATE TABLE tasks (
    task_id         text PRIMARY KEY,
    project_id      text   NOT NULL,
    area            text   NOT NULL,
    role            text   NOT NULL,
    title           text   NOT NULL DEFAULT '',
    status          text   NOT NULL,
    verified        boolean NOT NULL DEFAULT false,
    attempt         int    NOT NULL DEFAULT 1,
    round           int    NOT NULL DEFAULT 0,
    assignee        text,
    deadline_ms     bigint,
    requirement_ids text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL
);
CREATE INDEX tasks_project ON tasks (project_id, task_id);

CREATE TABLE alerts (
    event_id    text PRIMARY KEY,
    project_id  text NOT NULL,
    request_id  text NOT NULL,
    task_id     text NOT NULL,
    area        text NOT NULL,
    kind        text NOT NULL,
    severity    text NOT NULL,
    attempt     int  NOT NULL,
    round       int  NOT NULL,
    message     text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX alerts_order ON alerts (occurred_at, event_id);

CREATE TABLE rejections (
    request_id  text PRIMARY KEY,
    event_id    text  NOT NULL,
    errors      jsonb NOT NULL,
    occurred_at timestamptz NOT NULL
);
