#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 with the test role (poverty/poverty).
# Starts the machine's PostgreSQL 15 cluster if it is down; installs it first when told to (CI, as root).
set -euo pipefail

ready() { PGPASSWORD=poverty psql -h 127.0.0.1 -U poverty -d postgres -tAc 'select 1' >/dev/null 2>&1; }
ready && exit 0

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [[ "${1:-}" == "--install" ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql' (or set TEST_POSTGRES_URL)" >&2
    exit 1
  fi
fi

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [[ -z "$cluster" ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main >/dev/null
  cluster="$version main"
fi
pg_ctlcluster --skip-systemctl-redirect $cluster start 2>/dev/null || true

as_postgres() { if [[ $(id -u) -eq 0 ]]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
for _ in $(seq 1 30); do as_postgres "psql -tAc 'select 1'" >/dev/null 2>&1 && break; sleep 1; done
as_postgres "psql -v ON_ERROR_STOP=1 -q -c \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'poverty') THEN
    CREATE ROLE poverty LOGIN SUPERUSER PASSWORD 'poverty';
  END IF; END \\\$\\\$;\""
ready || { echo "PostgreSQL started but the poverty role cannot log in on 127.0.0.1" >&2; exit 1; }
