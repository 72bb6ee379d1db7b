#!/bin/sh
# Hands redis_exporter the password from REDIS_PASSWORD_FILE through its environment, so the password never appears
# in the container's configuration or on a command line.
set -eu
if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  [ -r "$REDIS_PASSWORD_FILE" ] || { echo "redis-exporter-entrypoint: cannot read $REDIS_PASSWORD_FILE" >&2; exit 1; }
  REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE")
  export REDIS_PASSWORD
fi
exec prometheus-redis-exporter "$@"
