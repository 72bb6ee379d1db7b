"""Clients that keep requesting a service during a change (a rollout, a rotation, a node drain) and count every
failed request.

Each request goes on a new connection and is never retried: a failure is what a client would have seen, with no
keep-alive race to excuse and no retry to hide it. Use as a context manager around the change:

    with Probe(f"{base}/api/health", verify=ca) as probe:
        run = playbook(...)
    assert probe.failures == [] and probe.total > 50, probe.summary()
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import requests

Request = Callable[[int], tuple[requests.Response, int]]


def get(url: str, expected: int = 200, **kwargs) -> Request:
    """A request that GETs url and expects `expected`."""

    def send(_: int) -> tuple[requests.Response, int]:
        return requests.get(url, headers={"Connection": "close"}, timeout=10, **kwargs), expected

    return send


class Probe:
    """`clients` threads sending `request(n)` (n counts the thread's requests) until the block ends."""

    def __init__(self, request: Request | str, clients: int = 2, interval: float = 0.05, **kwargs):
        self.request = get(request, **kwargs) if isinstance(request, str) else request
        self.interval = interval
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.total = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def _client(self) -> None:
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            try:
                response, expected = self.request(sequence)
                outcome = None if response.status_code == expected else f"{response.status_code} {response.url}"
            except requests.RequestException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            with self.lock:
                self.total += 1
                if outcome:
                    self.failures.append(outcome)
            self.stop.wait(self.interval)

    def summary(self) -> str:
        return f"{len(self.failures)} of {self.total} requests failed: {self.failures[:10]}"

    def __enter__(self) -> Probe:
        for thread in self.threads:
            thread.start()
        # Every client has an answer before the change starts: a probe that never got one proves nothing.
        while self.total < len(self.threads) and not self.stop.wait(0.05):
            pass
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
