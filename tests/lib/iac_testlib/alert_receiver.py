"""A webhook receiver for Alertmanager in tests: an HTTP server of Python's standard library, on loopback only,
that appends every POSTed notification to a file, one JSON line each.

    python3 -m iac_testlib.alert_receiver --out alerts.jsonl [--port 0] [--status 200]

prints `listening on http://127.0.0.1:PORT/` once it accepts connections. --status 500 makes it a receiver that
refuses alerts (Alertmanager then counts failed notifications). In a test:

    with AlertReceiver(tmp_path / "alerts.jsonl") as receiver:    # a subprocess on a free loopback port
        ...point Alertmanager at receiver.url...
        alert = receiver.wait_for(lambda a: a["labels"]["alertname"] == "TargetDown", timeout=60)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    out: Path
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = {"unparsed": body.decode("utf-8", "replace")}
        record = {
            "received": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "path": self.path,
            "answered": self.status,
            "payload": payload,
        }
        with self.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, sort_keys=True) + "\n")
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        """Requests are in the file; stderr stays for errors."""


def serve(out: Path, host: str = "127.0.0.1", port: int = 0, status: int = 200) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"alert_receiver: {host} is not a loopback address; tests listen on loopback only")
    _Handler.out, _Handler.status = out, status
    server = HTTPServer((host, port), _Handler)
    print(f"listening on http://{host}:{server.server_address[1]}/", flush=True)
    server.serve_forever()


class AlertReceiver:
    """The receiver as a subprocess of the test, on a free loopback port, recording into `out`."""

    def __init__(self, out: Path, status: int = 200):
        self.out, self.status = Path(out), status
        self.url = ""
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> AlertReceiver:
        self.out.touch()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "iac_testlib.alert_receiver", "--out", str(self.out), "--status", str(self.status)],
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.__exit__()
            raise RuntimeError(f"alert receiver did not start: {line!r}")
        self.url = line.removeprefix("listening on ")
        return self

    def __exit__(self, *exc) -> None:
        if self._process:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process.stdout.close()

    def notifications(self) -> list[dict]:
        """Every POST received so far: {received, path, answered, payload}."""
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def alerts(self) -> list[dict]:
        """The alerts of every notification, oldest first, each with the notification's `received` time."""
        return [
            {**alert, "received": note["received"]}
            for note in self.notifications()
            for alert in (note["payload"] or {}).get("alerts", [])
        ]

    def wait_for(self, predicate, timeout: float = 60, interval: float = 0.2) -> dict:
        """The first alert the predicate accepts; AssertionError naming what arrived when none does in time."""
        deadline = time.monotonic() + timeout
        while True:
            for alert in self.alerts():
                if predicate(alert):
                    return alert
            if time.monotonic() > deadline:
                seen = [(a.get("status"), a.get("labels", {}).get("alertname")) for a in self.alerts()]
                raise AssertionError(f"no matching alert reached {self.url} in {timeout} s; received: {seen}")
            time.sleep(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="file the notifications are appended to")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument("--status", type=int, default=200, help="HTTP status to answer with")
    args = parser.parse_args(argv)
    serve(args.out, args.host, args.port, args.status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
