#!/bin/sh
# On the first start (empty $PGDATA): create the cluster with POSTGRES_USER as its superuser, the password read from
# POSTGRES_PASSWORD_FILE, network logins by scram-sha-256 only, and the database POSTGRES_DB. Then run the command
# (postgres in the foreground, as PID 1).
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD_FILE:-}" ] || [ ! -r "$POSTGRES_PASSWORD_FILE" ]; then
    echo "postgres-entrypoint: POSTGRES_PASSWORD_FILE must name a readable file holding the password" >&2
    exit 1
  fi
  echo "postgres-entrypoint: creating the cluster in $PGDATA"
  initdb --username="$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  # Containers on the project network reach the server by name; only scram-sha-256 logins are accepted.
  printf '%s\n' "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  printf '%s\n' "listen_addresses = '*'" "password_encryption = 'scram-sha-256'" >>"$PGDATA/postgresql.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
      postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres-entrypoint: cluster ready"
fi
exec "$@"
