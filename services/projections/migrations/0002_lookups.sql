-- `/tasks/{id}` and the manual-verdict check find a task's events by payload, `submit --wait`
-- a project by its request: index them
-- rather than scan the log (a rebuild builds these after its load, with the others).

CREATE INDEX events_task ON events ((payload->>'task_id'));
CREATE INDEX events_dev_task ON events ((payload->>'dev_task_id')) WHERE payload ? 'dev_task_id';
CREATE INDEX projects_request ON projects (request_id);
