"""Polling until something holds, with a failure that says what was awaited and the last error seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], what: str, timeout: float = 180, interval: float = 2) -> T:
    """Call predicate() until it returns a truthy value and return that value; errors while waiting (a service
    still starting, a transient API error) count as not yet. Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # whatever it raised, the condition does not hold yet
            last_error = exc
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")
        time.sleep(interval)
