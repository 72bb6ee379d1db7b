#!/bin/sh
# Writes the server configuration (the password from REDIS_PASSWORD_FILE never appears on a command line), then runs
# redis-server in the foreground. `redis-entrypoint healthcheck` pings the server with the same password.
#   REDIS_PASSWORD_FILE  file holding the password (optional; without it the server has no password)
#   REDIS_MAXMEMORY      memory limit, default 256mb; least recently used keys are evicted (it is a cache)
set -eu
password() { [ -n "${REDIS_PASSWORD_FILE:-}" ] && cat "$REDIS_PASSWORD_FILE" || true; }

case "${1:-}" in
  healthcheck)
    [ "$(REDISCLI_AUTH="$(password)" redis-cli -h 127.0.0.1 --no-auth-warning ping)" = PONG ]
    exit
    ;;
  redis-server)
    conf=$(mktemp /tmp/redis.XXXXXX.conf)
    chmod 0600 "$conf"
    {
      echo "bind 0.0.0.0"
      echo "port 6379"
      echo "dir /data"
      echo "appendonly yes"
      echo "maxmemory ${REDIS_MAXMEMORY:-256mb}"
      echo "maxmemory-policy allkeys-lru"
      if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
        [ -r "$REDIS_PASSWORD_FILE" ] || { echo "redis-entrypoint: cannot read $REDIS_PASSWORD_FILE" >&2; exit 1; }
        echo "requirepass $(password)"
      else
        echo "protected-mode no"
      fi
    } >"$conf"
    shift
    exec redis-server "$conf" "$@"
    ;;
esac
exec "$@"
