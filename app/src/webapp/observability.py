"""Per-request metrics, request ids and response headers, and the /metrics endpoint."""

from __future__ import annotations

import os
import re
import time

from flask import Blueprint, Flask, Response, request

from webapp import metrics

bp = Blueprint("observability", __name__)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Browser protections that only mean something on HTML; JSON answers (the hot paths) just get nosniff.
_HTML_HEADERS = {
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

    # These hooks run on every request, the health checks included: they reach the request through one proxy lookup
    # and keep their state in the WSGI environ, which is measurably cheaper than repeated `request.`/`g.` access.
    @app.before_request
    def start_timer():
        environ = request.environ
        environ["webapp.started"] = time.perf_counter()
        # Keep the caller's (e.g. Nginx's) request id, or make one; the access log reads it from the environ.
        if not _REQUEST_ID.match(environ.get("HTTP_X_REQUEST_ID", "")):
            environ["HTTP_X_REQUEST_ID"] = os.urandom(16).hex()

    @app.after_request
    def record(response: Response) -> Response:
        req = request._get_current_object()
        environ = req.environ
        # Route templates, not raw paths, so that ids in URLs cannot blow up the label set.
        route = req.url_rule.rule if req.url_rule else "<unmatched>"
        method = req.method if req.method in _METHODS else "OTHER"
        metrics.REQUESTS.labels(method, route, str(response.status_code)).inc()
        started = environ.get("webapp.started")
        if started is not None:
            metrics.LATENCY.labels(method, route).observe(time.perf_counter() - started)
        headers = response.headers
        headers["X-Request-ID"] = environ.get("HTTP_X_REQUEST_ID", "")
        headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            headers.update(_HTML_HEADERS)
        return response
