"""Errors as JSON for API clients (and a small HTML page for browsers on non-API paths)."""

from __future__ import annotations

import logging

import psycopg2
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def error_response(status: int, message: str):
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    return response


def _wants_json() -> bool:
    if request.path == "/api" or request.path.startswith(("/api/", "/health", "/metrics")):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if _wants_json():
            response = error_response(status, exc.description or exc.name)
            if status == 405 and exc.get_response().headers.get("Allow"):
                response.headers["Allow"] = exc.get_response().headers["Allow"]
            return response
        return render_template("error.html", status=status, name=exc.name, message=exc.description), status

    # Connection refused, server gone, pool exhausted, statement timeout. (Redis errors never get here: every Redis
    # use degrades to PostgreSQL or to "n/a" where it happens.)
    @app.errorhandler(psycopg2.OperationalError)
    def database_unavailable(exc: Exception):
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.error("database unavailable", extra={"error": reason})
        return error_response(503, "database unavailable")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal server error")
