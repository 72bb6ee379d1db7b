"""Liveness (/health: no I/O) and readiness (/api/health: PostgreSQL and Redis, each timed)."""

from __future__ import annotations

import logging

import psycopg2
import redis
from flask import Blueprint, Response, jsonify

from webapp.services import services

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

_LIVE = b'{"status":"ok"}\n'


@bp.get("/health")
def live():
    # Answers as long as the worker can serve a request; touching a dependency here would make an orchestrator
    # restart healthy app containers whenever the database blips.
    return Response(_LIVE, mimetype="application/json", headers={"Cache-Control": "no-store"})


def check(name: str, probe, errors) -> dict:
    try:
        latency = probe()
    except errors as exc:
        log.warning("readiness check failed", extra={"dependency": name, "error": type(exc).__name__})
        return {"status": "fail", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round(latency * 1000, 3)}


@bp.get("/api/health")
def ready():
    svc = services()
    checks = {
        "postgres": check("postgres", svc.db.ping, psycopg2.Error),
        "redis": check("redis", svc.cache.ping, redis.RedisError),
    }
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    body = {"status": "fail" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response
