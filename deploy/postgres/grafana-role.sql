-- The read-only role Grafana's "hdp dwh" data source logs in as: it may read the batch
-- watermark (ops.watermark) and nothing else. Run by the one-shot `dwh-grants` service of
-- deploy/docker-compose.yml after `hdp init` created ops.watermark, as the owner of dwh:
--   GRAFANA_DWH_PASSWORD=... psql -v ON_ERROR_STOP=1 -d dwh -f grafana-role.sql
-- Idempotent; every run sets the password from the environment again (rotation = edit .env,
-- `docker compose up -d`). psql 15 or later (\getenv).
\getenv grafana_password GRAFANA_DWH_PASSWORD
\if :{?grafana_password}
  SELECT length(:'grafana_password') = 0 AS no_password \gset
\else
  \set no_password true
\endif
\if :no_password
  DO $$ BEGIN RAISE EXCEPTION 'grafana-role.sql: GRAFANA_DWH_PASSWORD is not set'; END $$;
\endif

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') AS create_role \gset
\if :create_role
  CREATE ROLE grafana LOGIN;
\endif
ALTER ROLE grafana WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'grafana_password';
ALTER ROLE grafana SET default_transaction_read_only = on;
ALTER ROLE grafana SET statement_timeout = '30s';

GRANT CONNECT ON DATABASE dwh TO grafana;
GRANT USAGE ON SCHEMA ops TO grafana;
GRANT SELECT ON ops.watermark TO grafana;
