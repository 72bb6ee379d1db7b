"""The app as the container runs it: gunicorn with gunicorn.conf.py, real workers, real servers."""

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from webapp import healthcheck

APP_DIR = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def gunicorn(env: dict, port: int, **overrides):
    env = {**env, "PORT": str(port), **overrides}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(APP_DIR / "gunicorn.conf.py")],
        cwd=APP_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "gunicorn did not answer within 30s"
                time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def get(port: int, path: str, data: bytes | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("worker_class", ["gthread", "sync", "gevent"])
def test_serves_under_gunicorn_with_json_logs_and_shared_metrics(
    python_env, migrated, unused_port, worker_class, monkeypatch
):
    with gunicorn(python_env, unused_port, GUNICORN_WORKER_CLASS=worker_class, GUNICORN_WORKERS="2") as proc:
        status, body = get(unused_port, "/api/health")
        assert status == 200, body
        status, body = get(unused_port, "/api/items", json.dumps({"name": f"via {worker_class}"}).encode())
        assert status == 201, body
        for _ in range(20):
            assert get(unused_port, "/health")[0] == 200
        status, metrics = get(unused_port, "/metrics")
        assert status == 200
        # 20 requests spread over 2 worker processes, summed by the multiprocess collector.
        line = next(
            ln
            for ln in metrics.decode().splitlines()
            if ln.startswith('webapp_http_requests_total{method="GET",route="/health",status="200"}')
        )
        assert float(line.split()[-1]) >= 20
        monkeypatch.setenv("PORT", str(unused_port))
        assert healthcheck.main() == 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0
    records = [json.loads(line) for line in out.splitlines()]
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert any(r["path"] == "/api/health" and r["status"] == 200 for r in access)
    assert all(len(r["request_id"]) == 32 for r in access)
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["msg"] for r in records)
    # The worker class asked for is the one that runs (gunicorn turns a sync worker with threads into gthread).
    assert any(r["msg"].startswith(f"Using worker: {worker_class}") for r in records), records[:5]
    # No record at error level: the container's read-only root has no room for gunicorn's control socket, so
    # gunicorn.conf.py turns it off (it logged "Control server error" on every start before).
    assert not [r for r in records if r["level"] == "error"], records
    assert "Traceback" not in err


def test_healthcheck_fails_when_nothing_listens(unused_port, monkeypatch, capsys):
    monkeypatch.setenv("PORT", str(unused_port))
    assert healthcheck.main() == 1
    assert "healthcheck:" in capsys.readouterr().err


def test_bad_configuration_stops_gunicorn_with_one_line(python_env, unused_port):
    env = dict(python_env, PORT=str(unused_port), REDIS_URL="http://nope")
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(APP_DIR / "gunicorn.conf.py")],
        check=False,
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr == "webapp: configuration error: REDIS_URL must start with redis://, rediss:// or unix:// "
        "(expected redis://[:PASSWORD@]HOST:PORT/DB)\n"
    )
