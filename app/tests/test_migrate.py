import json
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from webapp import migrate as migrate_module
from webapp.migrate import LOCK_KEY, MIGRATIONS, migrate


@pytest.fixture
def fresh_db(settings, migrated):
    """An empty database of its own, dropped afterwards; yields its URL."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(settings.database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(settings.database_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def applied_versions(url):
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [row[0] for row in cur.fetchall()]
    conn.close()
    return versions


def test_migrate_creates_the_schema_then_does_nothing(fresh_db):
    assert migrate(fresh_db) == [v for v, _, _ in MIGRATIONS]
    assert migrate(fresh_db) == []
    assert applied_versions(fresh_db) == [v for v, _, _ in MIGRATIONS]


def _spawn_migrate(python_env, url):
    env = dict(python_env, DATABASE_URL=url)
    return subprocess.Popen(
        [sys.executable, "-m", "webapp.migrate", "--wait", "10"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _applied_by(stdout: str) -> list[int]:
    for line in stdout.splitlines():
        record = json.loads(line)
        if record["msg"] == "schema up to date":
            return record["applied"]
    raise AssertionError(f"no summary line in {stdout!r}")


def test_two_processes_migrating_at_once_both_succeed(fresh_db, python_env):
    # Hold the migration lock so that both processes are provably inside migrate() at the same time, waiting on
    # the same lock; then let them race.
    blocker = psycopg2.connect(fresh_db)
    blocker.autocommit = True
    with blocker.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    procs = [_spawn_migrate(python_env, fresh_db) for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while True:
            with blocker.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
                waiting = cur.fetchone()[0]
            if waiting == 2:
                break
            assert time.monotonic() < deadline, "the two migrations never both waited for the lock"
            time.sleep(0.05)
    finally:
        with blocker.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        blocker.close()
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    applied = sorted((_applied_by(out) for out, _ in results), key=len)
    assert applied == [[], [v for v, _, _ in MIGRATIONS]]
    assert applied_versions(fresh_db) == [v for v, _, _ in MIGRATIONS]


def test_many_processes_started_together_all_succeed(fresh_db, python_env):
    procs = [_spawn_migrate(python_env, fresh_db) for _ in range(4)]
    results = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], results
    assert sum(len(_applied_by(out)) for out, _ in results) == len(MIGRATIONS)


def test_a_failing_migration_leaves_the_schema_untouched(fresh_db, monkeypatch):
    monkeypatch.setattr(migrate_module, "MIGRATIONS", [*MIGRATIONS, (99, "broken", "CREATE TABLE items (x int)")])
    with pytest.raises(psycopg2.errors.DuplicateTable):
        migrate(fresh_db)
    conn = psycopg2.connect(fresh_db)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations'), to_regclass('items')")
        assert cur.fetchone() == (None, None)
    conn.close()


def test_main_exits_2_with_one_line_on_bad_config(python_env):
    env = dict(python_env)
    del env["SECRET_KEY"]
    proc = subprocess.run(
        [sys.executable, "-m", "webapp.migrate"], check=False, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("webapp: configuration error: SECRET_KEY is not set")


def test_main_exits_1_with_one_line_when_the_database_stays_unreachable(python_env, unused_port):
    env = dict(python_env, DATABASE_URL=f"postgresql://app:secret@127.0.0.1:{unused_port}/app")
    proc = subprocess.run(
        [sys.executable, "-m", "webapp.migrate", "--wait", "1"], check=False, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("webapp: migration failed: ")
    assert "secret" not in proc.stderr
    assert "waiting for the database" in proc.stdout


def test_main_in_process(base_env, fresh_db, unused_port, monkeypatch, capsys):
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    assert migrate_module.main(["--wait", "0"]) == 0
    assert '"msg":"schema up to date"' in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:pw@127.0.0.1:{unused_port}/app")
    assert migrate_module.main(["--wait", "0"]) == 1
    assert capsys.readouterr().err.startswith("webapp: migration failed: ")
    monkeypatch.setenv("SECRET_KEY", "short")
    assert migrate_module.main([]) == 2
    assert "SECRET_KEY is too short" in capsys.readouterr().err


def test_flask_cli_command(app, sql):
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
