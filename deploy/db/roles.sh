#!/bin/sh
# The api's login role: owner of the app's database and so of its public schema, never a superuser (ADR 0026).
# Runs in the db container as its first-start init script and, from the deploy, before every migration, so a
# cluster made before it is converted too. Idempotent; sourced or run, it stops at the first error.
if ! app_password=$(cat "${POSTGRES_PASSWORD_FILE:-/run/secrets/db_password}") || [ -z "$app_password" ] ||
  [ -z "${DATABASE_APP_USER:-}" ] || [ "$DATABASE_APP_USER" = "$POSTGRES_USER" ]; then
  echo 'roles.sh: set DATABASE_APP_USER (not the superuser POSTGRES_USER) and mount the db_password secret (POSTGRES_PASSWORD_FILE) in the db container' >&2
  false
# The role and its database's settings, from `postgres`, which the app can neither enter nor configure: the app owns
# its database and could give it settings (a search_path, a role, read-only) that a superuser session there takes.
elif APP_PASSWORD=$app_password psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 \
  --username "$POSTGRES_USER" --dbname postgres \
  --set app="$DATABASE_APP_USER" --set admin="$POSTGRES_USER" --set db="$POSTGRES_DB" <<'SQL'
-- From the environment, so the password shows in no process list; trimmed of ASCII whitespace, as the api trims it.
\getenv password APP_PASSWORD
SELECT btrim(:'password', E' \t\n\r\f\v') AS password, btrim(:'password', E' \t\n\r\f\v') = '' AS blank \gset
\if :blank
DO $$ BEGIN RAISE EXCEPTION 'roles.sh: the db_password secret holds nothing but whitespace'; END $$;
\endif
-- Stored as SCRAM, which the server's host rule asks for, whatever a session default says.
SET password_encryption = 'scram-sha-256';
SELECT format('CREATE ROLE %I', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
-- PostgreSQL 15+: the database owner owns its public schema, where the migrations put every table.
ALTER DATABASE :"db" OWNER TO :"app";
-- Settings the owner gave its database (they would apply to the superuser's sessions there too) are dropped.
ALTER DATABASE :"db" RESET ALL;
-- Only its own database: the maintenance databases are for the superuser.
REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC;
-- The superuser keeps no password: it logs in over this container's socket only, never from the network.
ALTER ROLE :"admin" PASSWORD NULL;
SQL
then
  # What the superuser made in the app's database while it was the app's login: tables, views and free-standing
  # sequences (a column's own sequence follows its table). With a search_path of its own, so that no name here can
  # resolve to an object of the app's, whatever the app set since.
  PGOPTIONS='-c search_path=pg_catalog,pg_temp' psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set app="$DATABASE_APP_USER" <<'SQL'
SELECT format('ALTER %s %s OWNER TO %I',
         CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
         c.oid::regclass, :'app')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'app')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
\gexec
SQL
else
  false
fi
