"""PostgreSQL access through a small blocking connection pool built on psycopg2.

Why not psycopg2.pool: it opens `minconn` connections in its constructor (so the app could not start while the
database is down, and readiness could never report it), closes every connection returned above `minconn` (churn under
load), and raises instead of waiting when all connections are busy. This pool connects lazily, keeps up to `size`
connections open for reuse, makes callers wait up to `timeout` seconds for a free one, and drops connections the
server has closed (a restart) before anyone uses them.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

import psycopg2
import psycopg2.extensions

from webapp import metrics

T = TypeVar("T")


class PoolTimeout(psycopg2.OperationalError):
    """No connection became free within the pool timeout."""


def _server_closed(conn) -> bool:
    """True when an idle connection's socket is readable: the server hung up (restart, terminated backend).

    An idle connection receives nothing unasked, so this costs one non-blocking poll() and no round trip. poll, not
    select: a worker with many client connections has descriptors above select()'s limit of 1024.
    """
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, psycopg2.InterfaceError):
        return True


class Database:
    def __init__(self, url: str, *, size: int, timeout: float, connect_timeout: int, statement_timeout_ms: int):
        self._url = url
        self._connect_kwargs = {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "application_name": "webapp",
        }
        self.size = size
        self.timeout = timeout
        self._idle: list = []
        self._open = 0
        self._cond = threading.Condition()

    def _connect(self):
        conn = psycopg2.connect(self._url, **self._connect_kwargs)
        # Every statement the app runs is a single atomic statement: autocommit saves a BEGIN/ROLLBACK round trip.
        conn.autocommit = True
        return conn

    def _acquire(self):
        """An idle connection if there is a live one, else a new one while under `size`, else wait for one."""
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while True:
                while self._idle:
                    conn = self._idle.pop()
                    if not _server_closed(conn):
                        return conn
                    self._forget(conn)
                if self._open < self.size:
                    self._open += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolTimeout(f"no database connection free within {self.timeout}s")
                self._cond.wait(remaining)
        try:
            return self._connect()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def _forget(self, conn) -> None:
        """Close a connection and free its slot; the caller holds the lock."""
        self._open -= 1
        with suppress(psycopg2.Error):
            conn.close()
        self._cond.notify()

    def _release(self, conn) -> None:
        with self._cond:
            if conn.closed:
                # The connection was lost mid-statement: the idle ones may come from the same dead server.
                self._forget(conn)
                for idle in self._idle:
                    self._forget(idle)
                self._idle.clear()
            else:
                self._idle.append(conn)
                self._cond.notify()

    def run(self, operation: str, fn: Callable[..., T]) -> T:
        """Run fn(cursor) on a pooled connection (autocommit); failures are counted under `operation`."""
        try:
            conn = self._acquire()
        except psycopg2.Error:
            metrics.DB_ERRORS.labels(operation).inc()
            raise
        try:
            with conn.cursor() as cur:
                return fn(cur)
        except psycopg2.Error:
            metrics.DB_ERRORS.labels(operation).inc()
            raise
        finally:
            self._release(conn)

    def ping(self) -> float:
        """SELECT 1; returns the latency in seconds."""
        start = time.perf_counter()
        self.run("ping", lambda cur: cur.execute("SELECT 1"))
        return time.perf_counter() - start

    def stats(self) -> dict:
        with self._cond:
            return {"size": self.size, "open": self._open, "idle": len(self._idle)}

    def close(self) -> None:
        with self._cond:
            for conn in self._idle:
                self._forget(conn)
            self._idle.clear()
