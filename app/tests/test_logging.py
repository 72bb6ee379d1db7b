import json
import logging
from datetime import timedelta

from gunicorn.config import Config

from webapp import logs
from webapp.gunicorn_logging import JsonLogger


def test_app_logs_are_json_lines_with_extra_fields(capsys):
    logs.configure("INFO")
    logs.configure("INFO")  # idempotent: still one handler
    log = logging.getLogger("webapp.test")
    log.info("hello %s", "world", extra={"item_id": 3})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    log.debug("not shown")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == "hello world"
    assert first["item_id"] == 3
    assert first["level"] == "info"
    assert first["logger"] == "webapp.test"
    assert first["ts"].endswith("+00:00")
    assert "ValueError: boom" in second["exc"]


class _Response:
    status = "201 CREATED"
    sent = 42
    headers = ()


def test_gunicorn_access_log_is_json_with_escaping(capsys):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("errorlog", "-")
    logger = JsonLogger(cfg)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/items",
        "PATH_INFO": "/api/items",
        "QUERY_STRING": "a=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.9",
        "HTTP_USER_AGENT": 'evil "agent"\n{',
        "HTTP_X_REQUEST_ID": "rid-1",
    }
    logger.access(_Response(), environ, environ, timedelta(milliseconds=12.5))
    logger.error("worker %s", "boot")
    lines = capsys.readouterr().out.splitlines()
    access = json.loads(lines[0])
    assert access["logger"] == "gunicorn.access"
    assert access["status"] == 201
    assert access["path"] == "/api/items"
    assert access["user_agent"] == 'evil "agent"\n{'
    assert access["duration_ms"] == 12.5
    assert access["request_id"] == "rid-1"
    assert json.loads(lines[1])["msg"] == "worker boot"


def test_gunicorn_access_log_can_be_off(capsys):
    cfg = Config()
    logger = JsonLogger(cfg)
    logger.access(_Response(), {}, {}, timedelta(0))
    assert capsys.readouterr().out == ""
