#!/usr/bin/env bash
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d):
# one role and one database per service, each database reachable only by its own roles.
set -euo pipefail

: "${POVERTY_SERVICES:?list of service databases to create}"
: "${POVERTY_DB_PASSWORD:?password of the service roles}"

for service in ${POVERTY_SERVICES}; do
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
       -v service="${service}" -v password="${POVERTY_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
SQL
done

# A service in POVERTY_SERVICE_ROLES runs as `<service>_service`, a role apart from its database's owner: the owner
# migrates (and grants the service's role what it may do), the service's role connects.
for service in ${POVERTY_SERVICE_ROLES:-}; do
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
       -v service="${service}" -v role="${service}_service" -v password="${POVERTY_DB_PASSWORD}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE :"service" TO :"role";
SQL
done
