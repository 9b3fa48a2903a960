#!/usr/bin/env bash
# Run once by the postgres image (docker-entrypoint-initdb.d) on an empty data dir.
# Creates the read-only role the query API uses (Secret key `reader-url`): it can
# read every table the owner `orchestrator` creates now or later, and write nothing.
# The password comes from the environment (Secret key `reader-password`).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader_password="$ORCH_READER_PASSWORD" <<'SQL'
CREATE ROLE orchestrator_reader LOGIN PASSWORD :'reader_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER ROLE orchestrator_reader SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE orchestrator TO orchestrator_reader;
GRANT USAGE ON SCHEMA public TO orchestrator_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO orchestrator_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE orchestrator IN SCHEMA public
  GRANT SELECT ON TABLES TO orchestrator_reader;
SQL
