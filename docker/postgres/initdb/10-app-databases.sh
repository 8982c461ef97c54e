#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# One role and one database per app. A role owns its database and may connect to nothing
# else: CONNECT is revoked from PUBLIC on every database, so a leaked service password
# reaches one app's data, not all of it.
set -euo pipefail

APPS=(gateway training coaching incidents)

psql_admin() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"
}

for database in "$POSTGRES_DB" template1; do
    psql_admin -v database="$database" <<'SQL'
REVOKE CONNECT, TEMPORARY ON DATABASE :"database" FROM PUBLIC;
SQL
done

for app in "${APPS[@]}"; do
    password_variable="POSTGRES_${app^^}_PASSWORD"
    password="${!password_variable:?$password_variable must be set}"
    psql_admin -v app="$app" -v password="$password" <<'SQL'
CREATE ROLE :"app" LOGIN PASSWORD :'password';
CREATE DATABASE :"app" OWNER :"app";
REVOKE CONNECT, TEMPORARY ON DATABASE :"app" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"app" TO :"app";
SQL
    echo "init: database and role '$app' created"
done
