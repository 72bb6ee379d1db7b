"""Items: rows in PostgreSQL, reads cached in Redis.

Invalidation uses a generation number instead of deleting keys: every cache key embeds the current generation and
every write increments it. A reader that loaded old rows just before a write stores them under the old generation,
which no one reads again, so a write can never be hidden by a stale entry (deleting keys has that race). Old
generations expire after the cache TTL. When Redis is unavailable reads go to PostgreSQL and writes still succeed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from webapp import metrics
from webapp.cache import Cache
from webapp.db import Database

log = logging.getLogger(__name__)

GENERATION_KEY = "webapp:items:generation"
# A cached read in one round trip: the current generation and the entry stored under it, as [generation, value].
READ_CURRENT = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', 'webapp:items:' .. generation .. ':' .. ARGV[1])}
"""
# A page view in one round trip: the hit counter incremented, and the page stored under the current generation.
PAGE_VIEW = """
local hits = redis.call('INCR', KEYS[2])
local generation = redis.call('GET', KEYS[1]) or '0'
return {hits, generation, redis.call('GET', 'webapp:items:' .. generation .. ':' .. ARGV[1])}
"""
NAME_MAX = 100
DESCRIPTION_MAX = 1000
QUANTITY_MAX = 1_000_000
FIELDS = ("name", "description", "quantity")
COLUMNS = "id, name, description, quantity, created_at"


class ValidationError(ValueError):
    """The request body does not describe a valid item; str() says which field and why."""


def validate_new_item(body: Any) -> dict:
    """Check a decoded JSON body; returns the clean fields or raises ValidationError."""
    if not isinstance(body, dict):
        raise ValidationError("body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")
    if "name" not in body:
        raise ValidationError("name is required")
    name = _text(body, "name", NAME_MAX, required=True)
    description = _text(body, "description", DESCRIPTION_MAX, required=False)
    quantity = body.get("quantity", 0)
    # bool is an int in Python but not a quantity in JSON.
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ValidationError("quantity must be an integer")
    if not 0 <= quantity <= QUANTITY_MAX:
        raise ValidationError(f"quantity must be between 0 and {QUANTITY_MAX}")
    return {"name": name, "description": description, "quantity": quantity}


def _text(body: dict, field: str, limit: int, *, required: bool) -> str:
    value = body.get(field, "")
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"{field} must not be empty")
    if len(value) > limit:
        raise ValidationError(f"{field} must be at most {limit} characters")
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters")
    try:
        # JSON can carry lone surrogates ("\ud800"), which have no UTF-8 form and would fail in the driver.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{field} must be valid Unicode text") from None
    return value


def _row(row) -> dict:
    item_id, name, description, quantity, created_at = row
    return {
        "id": item_id,
        "name": name,
        "description": description,
        "quantity": quantity,
        "created_at": created_at.isoformat(),
    }


class ItemStore:
    def __init__(self, db: Database, cache: Cache, ttl: int):
        self.db = db
        self.cache = cache
        # Registered once: a Script hashes its source when made, and runs by EVALSHA (loading it on NOSCRIPT).
        self._page_view = cache.client.register_script(PAGE_VIEW)
        self._read_current = cache.client.register_script(READ_CURRENT)
        self.ttl = ttl

    def create(self, fields: dict) -> dict:
        def insert(cur):
            cur.execute(
                f"INSERT INTO items (name, description, quantity) VALUES (%s, %s, %s) RETURNING {COLUMNS}",
                (fields["name"], fields["description"], fields["quantity"]),
            )
            return _row(cur.fetchone())

        item = self.db.run("insert", insert)
        self._invalidate()
        return item

    def delete(self, item_id: int) -> bool:
        def delete(cur):
            cur.execute("DELETE FROM items WHERE id = %s", (item_id,))
            return cur.rowcount == 1

        deleted = self.db.run("delete", delete)
        if deleted:
            self._invalidate()
        return deleted

    def get(self, item_id: int) -> tuple[dict | None, str]:
        def select(cur):
            cur.execute(f"SELECT {COLUMNS} FROM items WHERE id = %s", (item_id,))
            row = cur.fetchone()
            return _row(row) if row else None

        return self._cached(f"item:{item_id}", lambda: self.db.run("select", select))

    def list(self, limit: int, offset: int) -> tuple[list[dict], str]:
        def select(cur):
            cur.execute(
                f"SELECT {COLUMNS} FROM items ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s", (limit, offset)
            )
            return [_row(row) for row in cur.fetchall()]

        return self._cached(f"list:{limit}:{offset}", lambda: self.db.run("list", select))

    def page_view(self, hits_key: str, suffix: str, render) -> tuple[int, str]:
        """Count a page view and return (hits, page). The page is the one stored under the current generation of
        the items, or render() -> (page, cacheable) stored there: a write makes the next view render anew, and a
        lost Redis loses the pages with the generation. Raises redis.RedisError when Redis cannot count."""
        client = self.cache.client
        hits, generation, page = self._page_view(keys=[GENERATION_KEY, hits_key], args=[suffix])
        if page is not None:
            metrics.CACHE_LOOKUPS.labels("hit").inc()
            return int(hits), page.decode()
        metrics.CACHE_LOOKUPS.labels("miss").inc()
        page, cacheable = render()
        if cacheable:
            try:
                client.set(f"webapp:items:{int(generation)}:{suffix}", page, ex=self.ttl)
            except redis.RedisError as exc:
                metrics.CACHE_ERRORS.labels("write").inc()
                log.warning("could not store a rendered page", extra={"error": type(exc).__name__})
        return int(hits), page

    def _cached(self, suffix: str, load) -> tuple[Any, str]:
        """Return (value, "HIT" | "MISS" | "BYPASS"); misses are stored, None (not found) is not."""
        client = self.cache.client
        try:
            generation, raw = self._read_current(keys=[GENERATION_KEY], args=[suffix])
            key = f"webapp:items:{int(generation)}:{suffix}"
        except redis.RedisError as exc:
            metrics.CACHE_ERRORS.labels("read").inc()
            log.warning("item cache unavailable, reading from the database", extra={"error": type(exc).__name__})
            return load(), "BYPASS"
        if raw is not None:
            metrics.CACHE_LOOKUPS.labels("hit").inc()
            return json.loads(raw), "HIT"
        metrics.CACHE_LOOKUPS.labels("miss").inc()
        value = load()
        if value is not None:
            try:
                client.set(key, json.dumps(value, separators=(",", ":")), ex=self.ttl)
            except redis.RedisError as exc:
                metrics.CACHE_ERRORS.labels("write").inc()
                log.warning("could not store an item cache entry", extra={"error": type(exc).__name__})
        return value, "MISS"

    def _invalidate(self) -> None:
        try:
            self.cache.client.incr(GENERATION_KEY)
        except redis.RedisError as exc:
            metrics.CACHE_ERRORS.labels("invalidate").inc()
            log.error(
                "could not invalidate the item cache; entries expire within the cache TTL",
                extra={"error": type(exc).__name__, "ttl": self.ttl},
            )
