import os
import resource
import select

import psycopg2
import pytest

from webapp.db import Database


@pytest.fixture
def db(settings, migrated):
    database = Database(settings.database_url, size=3, timeout=1, connect_timeout=2, statement_timeout_ms=200)
    yield database
    database.close()


def select_one(cur):
    cur.execute("SELECT 1")
    return cur.fetchone()[0]


def test_connections_are_opened_lazily_and_kept(db):
    assert db.stats() == {"size": 3, "open": 0, "idle": 0}
    for _ in range(50):
        assert db.run("test", select_one) == 1
    # Sequential use needs one connection, and it is reused rather than reopened.
    assert db.stats() == {"size": 3, "open": 1, "idle": 1}


def test_statement_timeout_fails_the_statement_but_keeps_the_connection(db):
    with pytest.raises(psycopg2.errors.QueryCanceled):
        db.run("test", lambda cur: cur.execute("SELECT pg_sleep(2)"))
    assert db.stats()["open"] == 1
    assert db.run("test", select_one) == 1


def test_a_connection_lost_mid_statement_is_dropped_with_the_idle_ones(db):
    a, b = db._acquire(), db._acquire()
    db._release(a)
    db._release(b)
    assert db.stats()["idle"] == 2
    with pytest.raises(psycopg2.OperationalError):
        db.run("test", lambda cur: cur.execute("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert db.stats() == {"size": 3, "open": 0, "idle": 0}
    assert db.run("test", select_one) == 1


def test_an_idle_connection_the_server_closed_is_never_handed_out(db, sql):
    db.run("test", select_one)
    (idle,) = db._idle
    with sql.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'webapp'")
    # Termination is asynchronous: wait until the server's hang-up has reached the idle connection's socket.
    readable, _, _ = select.select([idle.fileno()], [], [], 10)
    assert readable
    assert db.run("test", select_one) == 1
    assert db.stats()["open"] == 1


def test_a_failed_connect_frees_its_slot(settings, unused_port):
    url = settings.database_url.rsplit("@", 1)[0] + f"@127.0.0.1:{unused_port}/app"
    database = Database(url, size=1, timeout=0.2, connect_timeout=2, statement_timeout_ms=200)
    for _ in range(3):
        with pytest.raises(psycopg2.OperationalError):
            database.run("test", select_one)
    assert database.stats()["open"] == 0


def test_connections_with_high_descriptors_are_reused(settings, migrated):
    # A busy worker holds many client sockets, so its database connections get descriptors above 1024, where
    # select() cannot look: the idle check must still recognise a live connection instead of reconnecting each time.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.fail(f"this test needs RLIMIT_NOFILE >= 2048 (hard limit is {hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    database = Database(settings.database_url, size=2, timeout=1, connect_timeout=2, statement_timeout_ms=1000)
    try:
        assert database.run("test", select_one) == 1
        assert database._idle[0].fileno() > 1024
        connection = database._idle[0]
        for _ in range(5):
            assert database.run("test", select_one) == 1
        assert database._idle == [connection]
    finally:
        database.close()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
