"""The test harness: a real PostgreSQL and a real Redis (scripts/test-services), started once per session.

Tests that take a server down use `services.stop(...)`; the `app` fixture brings any stopped server back before the
next test, so one failing outage test cannot cascade.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest
import redis

from webapp import config, create_app
from webapp.migrate import migrate

APP_DIR = Path(__file__).resolve().parents[1]
SERVICES_SCRIPT = APP_DIR / "scripts" / "test-services"


class Services:
    def __init__(self, directory: Path):
        self.dir = directory
        self.env: dict[str, str] = {}
        self.stopped: set[str] = set()

    def _run(self, *args: str) -> None:
        subprocess.run([str(SERVICES_SCRIPT), *args], check=True)

    def up(self) -> None:
        self._run("up", str(self.dir))
        for line in (self.dir / "env").read_text().splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value

    def stop(self, name: str) -> None:
        self._run("stop", name, str(self.dir))
        self.stopped.add(name)

    def start(self, name: str) -> None:
        self._run("start", name, str(self.dir))
        self.stopped.discard(name)

    def restore(self) -> None:
        for name in sorted(self.stopped):
            self.start(name)

    def down(self) -> None:
        subprocess.run([str(SERVICES_SCRIPT), "down", str(self.dir)], check=False)


@pytest.fixture(scope="session")
def services():
    svc = Services(Path(tempfile.mkdtemp(prefix="webapp-test-")))
    try:
        svc.up()
        yield svc
    finally:
        svc.down()
        shutil.rmtree(svc.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def base_env(services) -> dict[str, str]:
    """The environment a deployment would give the app, pointing at the harness's servers."""
    return {
        "DATABASE_URL": services.env["DATABASE_URL"],
        "REDIS_URL": services.env["REDIS_URL"],
        "SECRET_KEY": secrets.token_hex(32),
        # Short waits so that outage tests answer quickly.
        "DB_POOL_TIMEOUT": "2",
        "DB_CONNECT_TIMEOUT": "2",
        "REDIS_TIMEOUT": "0.5",
    }


@pytest.fixture(scope="session")
def settings(base_env) -> config.Settings:
    return config.load(base_env)


@pytest.fixture(scope="session")
def migrated(settings):
    migrate(settings.database_url)


@pytest.fixture
def sql(settings, migrated):
    """A direct connection for looking behind the app's back."""
    conn = psycopg2.connect(settings.database_url)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def rds(settings):
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def app(services, settings, migrated):
    services.restore()
    conn = psycopg2.connect(settings.database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("TRUNCATE items RESTART IDENTITY")
    conn.close()
    redis.Redis.from_url(settings.redis_url).flushdb()
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    svc = application.extensions["webapp"]
    svc.db.close()
    svc.cache.close()
    services.restore()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def item_count(settings, migrated):
    """Counts rows over a connection of its own, so it works across server restarts."""

    def count() -> int:
        conn = psycopg2.connect(settings.database_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM items")
                return cur.fetchone()[0]
        finally:
            conn.close()

    return count


@pytest.fixture
def python_env(base_env):
    """Environment for app subprocesses (python -m webapp.migrate, gunicorn)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(base_env)
    env["PYTHONPATH"] = str(APP_DIR / "src")
    return env


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
