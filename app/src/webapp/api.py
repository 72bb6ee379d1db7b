"""The JSON API: index, status and the items resource."""

from __future__ import annotations

import json
import platform
import socket
import time

import psycopg2
import redis
from flask import Blueprint, jsonify, request, url_for

from webapp import __version__
from webapp.errors import error_response
from webapp.items import ValidationError, validate_new_item
from webapp.services import PAGE_HITS_KEY, services

bp = Blueprint("api", __name__, url_prefix="/api")

LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 100
# Item ids are PostgreSQL bigints: a larger id cannot exist, so it is a 404 rather than a database error.
MAX_ITEM_ID = 2**63 - 1


@bp.get("/")
def index():
    return jsonify(
        service="webapp",
        version=__version__,
        endpoints={
            "GET /api/": "this index",
            "GET /api/health": "readiness: PostgreSQL and Redis, each with its latency; 503 names what failed",
            "GET /api/status": "version, hostname, uptime, database and cache state",
            "GET /api/items?limit=&offset=": f"items, newest first (limit 1-{LIST_LIMIT_MAX})",
            "POST /api/items": 'create {"name": str, "description": str, "quantity": int}',
            "GET /api/items/<id>": "one item",
            "DELETE /api/items/<id>": "delete one item",
            "GET /health": "liveness (no I/O)",
            "GET /metrics": "Prometheus metrics",
        },
    )


def _database_state(svc) -> dict:
    def read(cur):
        cur.execute("SELECT current_setting('server_version'), (SELECT max(version) FROM schema_migrations)")
        return cur.fetchone()

    try:
        start = time.perf_counter()
        server_version, schema_version = svc.db.run("status", read)
        latency = time.perf_counter() - start
    except psycopg2.Error as exc:
        return {"status": "down", "error": type(exc).__name__, "pool": svc.db.stats()}
    return {
        "status": "ok",
        "latency_ms": round(latency * 1000, 3),
        "server_version": server_version,
        "schema_version": schema_version,
        "pool": svc.db.stats(),
    }


def _cache_state(svc) -> dict:
    try:
        start = time.perf_counter()
        info = svc.cache.client.info("server")
        hits = int(svc.cache.client.get(PAGE_HITS_KEY) or 0)
        latency = time.perf_counter() - start
    except redis.RedisError as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {
        "status": "ok",
        "latency_ms": round(latency * 1000, 3),
        "server_version": info.get("redis_version"),
        "page_hits": hits,
    }


@bp.get("/status")
def status():
    svc = services()
    now = time.time()
    response = jsonify(
        service="webapp",
        version=__version__,
        build=svc.settings.app_build or None,
        hostname=socket.gethostname(),
        python=platform.python_version(),
        started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(svc.started_at)),
        uptime_seconds=round(now - svc.started_at, 3),
        database=_database_state(svc),
        cache=_cache_state(svc),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # isascii: str.isdigit() also accepts digits int() refuses, such as "²"; the length bounds int()'s work.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise ValidationError(f"{name} must be an integer between {low} and {high}")
    return int(raw)


@bp.errorhandler(ValidationError)
def invalid(exc: ValidationError):
    return error_response(422, str(exc))


@bp.get("/items")
def list_items():
    try:
        limit = _query_int("limit", LIST_LIMIT_DEFAULT, 1, LIST_LIMIT_MAX)
        offset = _query_int("offset", 0, 0, 1_000_000)
    except ValidationError as exc:
        return error_response(400, str(exc))
    items, cache_state = services().items.list(limit, offset)
    response = jsonify(items=items, limit=limit, offset=offset)
    response.headers["X-Cache"] = cache_state
    return response


@bp.post("/items")
def create_item():
    if not request.is_json:
        return error_response(415, "Content-Type must be application/json")
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return error_response(400, "body is not valid JSON")
    item = services().items.create(validate_new_item(body))
    response = jsonify(item)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_item", item_id=item["id"])
    return response


@bp.get("/items/<int:item_id>")
def get_item(item_id: int):
    item, cache_state = services().items.get(item_id) if item_id <= MAX_ITEM_ID else (None, "")
    if item is None:
        return error_response(404, f"item {item_id} not found")
    response = jsonify(item)
    response.headers["X-Cache"] = cache_state
    return response


@bp.delete("/items/<int:item_id>")
def delete_item(item_id: int):
    if item_id > MAX_ITEM_ID or not services().items.delete(item_id):
        return error_response(404, f"item {item_id} not found")
    return "", 204
