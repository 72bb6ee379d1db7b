"""A gunicorn logger class that writes the error and access logs as JSON lines on stdout.

gunicorn's own access_log_format is a %-template: it cannot escape quotes in a user agent or a path, so a JSON
template would produce broken lines. This class builds each access record as a dict instead.
"""

from __future__ import annotations

import logging
import sys

from gunicorn.glogging import Logger

from webapp.logs import JsonFormatter


class JsonLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                        handler.setStream(sys.stdout)
                    handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        self.access_log.info(
            "request",
            extra={
                "remote": environ.get("REMOTE_ADDR", "-"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING", ""),
                "status": int(status),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "user_agent": environ.get("HTTP_USER_AGENT", "-"),
                "referer": environ.get("HTTP_REFERER", "-"),
                "request_id": environ.get("HTTP_X_REQUEST_ID", "-"),
                "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", "-"),
            },
        )
