"""Schema migrations: `python -m webapp.migrate` (the container runs it before serving) or `flask migrate`.

Safe to run twice and concurrently: the whole run is one transaction that first takes a PostgreSQL advisory lock, so
a second runner waits, then finds nothing left to do. PostgreSQL DDL is transactional, so a failed migration leaves
the schema as it was.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import psycopg2

from webapp import config, logs

log = logging.getLogger("webapp.migrate")

# Any constant bigint works; this one is "webapp" in ASCII so it is recognisable in pg_locks.
LOCK_KEY = 0x776562617070

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "create items",
        """
        CREATE TABLE items (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
            description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
            quantity integer NOT NULL DEFAULT 0 CHECK (quantity BETWEEN 0 AND 1000000),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ),
    (2, "index items by creation time", "CREATE INDEX items_created_at_idx ON items (created_at DESC, id DESC)"),
]


def connect(url: str, wait_seconds: float):
    """Connect, retrying while the server is not accepting connections yet (containers start together)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return psycopg2.connect(url, connect_timeout=5, application_name="webapp-migrate")
        except psycopg2.OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for the database", extra={"error": str(exc).strip().splitlines()[0]})
            time.sleep(1)


def migrate(url: str, wait_seconds: float = 0, lock_timeout_s: int = 120) -> list[int]:
    """Apply pending migrations; returns the versions this run applied (empty when up to date)."""
    conn = connect(url, wait_seconds)
    applied = []
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = %s", (f"{lock_timeout_s}s",))
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied.append(version)
                log.info("applied migration", extra={"version": version, "migration": name})
    finally:
        conn.close()
    log.info(
        "schema up to date",
        extra={"version": MIGRATIONS[-1][0], "applied": applied},
    )
    return applied


def register_cli(app) -> None:
    @app.cli.command("migrate")
    def migrate_command():
        """Apply pending database migrations."""
        migrate(app.extensions["webapp"].settings.database_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.migrate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait",
        type=float,
        default=float(os.environ.get("MIGRATE_WAIT_SECONDS", "30")),
        help="seconds to keep retrying while the database is unreachable (env MIGRATE_WAIT_SECONDS, default 30)",
    )
    args = parser.parse_args(argv)
    try:
        # The whole configuration, not just DATABASE_URL: the container runs this first, so any bad setting
        # stops the start here with one line.
        settings = config.load()
    except config.ConfigError as exc:
        print(f"webapp: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        migrate(settings.database_url, wait_seconds=args.wait)
    except psycopg2.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"webapp: migration failed: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
