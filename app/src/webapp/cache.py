"""Redis: the read cache for items, the page hit counter, and the readiness ping."""

from __future__ import annotations

import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class Cache:
    def __init__(self, url: str, *, timeout: float, max_connections: int):
        # One retry without backoff: a connection the server closed (restart) is replaced at once, while a server
        # that is really down fails within `timeout` so readiness answers quickly.
        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self.client = redis.Redis(connection_pool=pool)

    def ping(self) -> float:
        """PING; returns the latency in seconds."""
        start = time.perf_counter()
        self.client.ping()
        return time.perf_counter() - start

    def close(self) -> None:
        self.client.connection_pool.disconnect()
