"""Per-request metrics, request ids and response headers, and the /metrics endpoint."""

from __future__ import annotations

import re
import time
import uuid

from flask import Blueprint, Flask, Response, g, request

from webapp import metrics

bp = Blueprint("observability", __name__)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
}


@bp.get("/metrics")
def metrics_endpoint():
    body, content_type = metrics.render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def register(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()
        # Keep the caller's (e.g. Nginx's) request id, or make one; the access log reads it from the environ.
        request_id = request.headers.get("X-Request-ID", "")
        if not _REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
            request.environ["HTTP_X_REQUEST_ID"] = request_id
        g.request_id = request_id

    @app.after_request
    def record(response: Response) -> Response:
        # Route templates, not raw paths, so that ids in URLs cannot blow up the label set.
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in _METHODS else "OTHER"
        metrics.REQUESTS.labels(method, route, str(response.status_code)).inc()
        started = g.get("started")
        if started is not None:
            metrics.LATENCY.labels(method, route).observe(time.perf_counter() - started)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
