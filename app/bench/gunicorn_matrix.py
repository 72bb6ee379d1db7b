"""Measure /health and /api/health under several gunicorn worker settings (see bench/run).

Each setting gets a fresh gunicorn with the project's gunicorn.conf.py, a warm-up, then one wrk run per path. wrk runs
on the same machine and takes CPU from the server: compare the rows with each other, not with a remote load test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
CORES = len(os.sched_getaffinity(0))

DEFAULT_MATRIX = [
    f"sync-{2 * CORES + 1}=sync:{2 * CORES + 1}:1",
    f"gthread-{CORES}x4=gthread:{CORES}:4",
    f"gthread-{CORES}x16=gthread:{CORES}:16",  # the default in gunicorn.conf.py
    f"gthread-{2 * CORES}x8=gthread:{2 * CORES}:8",
    f"gevent-{CORES}=gevent:{CORES}:1",
    f"gevent-{2 * CORES}=gevent:{2 * CORES}:1",
]
PATHS = ["/health", "/api/health"]
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready")


def parse_wrk(text: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "rps": rps,
        "p50_ms": float(p50.group(1)) * UNITS[p50.group(2)],
        "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)],
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def wrk(port: int, path: str, duration: int, connections: int, threads: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def run_setting(name: str, spec: str, env: dict, args) -> list[dict]:
    worker_class, workers, threads = spec.split(":")
    port = free_port()
    run_env = {
        **env,
        "PORT": str(port),
        "GUNICORN_WORKER_CLASS": worker_class,
        "GUNICORN_WORKERS": workers,
        "GUNICORN_THREADS": threads,
        "ACCESS_LOG": "true" if args.access_log else "false",
    }
    run_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [str(APP_DIR / ".venv/bin/gunicorn"), "-c", str(APP_DIR / "gunicorn.conf.py")],
        cwd=APP_DIR,
        env=run_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        wait_ready(port, proc)
        wrk(port, "/api/health", 2, args.connections, args.wrk_threads)  # warm-up: workers, pools, caches
        for path in PATHS:
            result = wrk(port, path, args.duration, args.connections, args.wrk_threads)
            rows.append(
                {
                    "setting": name,
                    "class": worker_class,
                    "workers": int(workers),
                    "threads": int(threads),
                    "path": path,
                    **result,
                }
            )
            print(
                f"{name:<16} {path:<12} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:>7.2f} ms   "
                f"p99 {result['p99_ms']:>7.2f} ms   errors {result['non2xx'] + result['socket_errors']}",
                flush=True,
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
    return rows


def summarise(rows: list[dict], rounds: int) -> None:
    print(f"\n# medians over {rounds} rounds")
    seen = []
    for row in rows:
        if (row["setting"], row["path"]) not in seen:
            seen.append((row["setting"], row["path"]))
    for setting, path in seen:
        runs = [r for r in rows if r["setting"] == setting and r["path"] == path]
        rps = statistics.median(r["rps"] for r in runs)
        p99 = statistics.median(r["p99_ms"] for r in runs)
        low, high = min(r["rps"] for r in runs), max(r["rps"] for r in runs)
        print(f"{setting:<16} {path:<12} {rps:>9.0f} req/s ({low:.0f}-{high:.0f})   p99 {p99:>7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent connections (default 50)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="turn gunicorn's access log off (default: on, as in production)",
    )
    parser.add_argument(
        "--config",
        action="append",
        metavar="NAME=CLASS:WORKERS:THREADS",
        help=f"a setting to measure; repeatable (default: {' '.join(DEFAULT_MATRIX)})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every setting this many times, interleaved, and summarise with medians "
        "(use 3 or more on a machine shared with other work)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=str(APP_DIR / "src"), SECRET_KEY=secrets.token_hex(32), LOG_LEVEL="WARNING")
    services_dir = None
    if not (env.get("DATABASE_URL") and env.get("REDIS_URL")):
        services_dir = tempfile.mkdtemp(prefix="webapp-bench-")
        subprocess.run([str(APP_DIR / "scripts/test-services"), "up", services_dir], check=True)
        for line in Path(services_dir, "env").read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
    try:
        subprocess.run(
            [str(APP_DIR / ".venv/bin/python"), "-m", "webapp.migrate"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        print(
            f"# {CORES} cores, wrk -c{args.connections} -t{args.wrk_threads} -d{args.duration}s, "
            f"access log {'on' if args.access_log else 'off'}; wrk shares the cores with the server"
        )
        rows = []
        for _ in range(args.rounds):
            for item in args.config or DEFAULT_MATRIX:
                name, _, spec = item.partition("=")
                rows += run_setting(name, spec, env, args)
        if args.rounds > 1:
            summarise(rows, args.rounds)
    finally:
        if services_dir:
            subprocess.run([str(APP_DIR / "scripts/test-services"), "down", services_dir], check=False)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
