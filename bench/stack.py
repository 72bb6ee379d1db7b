#!/usr/bin/env python3
"""Benchmark the deployed stack on this host: req/s and p99 latency, printed as a table (not a test).

Targets, each at every concurrency given (default 10 and 50), with wrk from loopback:
  nginx-static   Nginx answering alone over TLS (/nginx-health): the ceiling of the proxy
  gunicorn-direct  /health straight to gunicorn on the app container's address in the project network
  health-tls     /health through Nginx over TLS
  api-health-tls /api/health (PostgreSQL + Redis) through Nginx over TLS
and the seed's `ab -n 1000 -c 10` on / (a new TLS connection per request) beside its ceilings: the same with
keep-alive (`ab -k`), Nginx answering alone over new TLS connections, and / straight to gunicorn.

Usage: bench/stack.py [--duration 10] [--connections 10,50] [--threads 2] [--project-dir /opt/iac/stack]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("wrk", "wrk"), ("ab", "apache2-utils")) if not shutil.which(tool)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, stdout=subprocess.DEVNULL)


def app_address(project_dir: str, network: str) -> str:
    """The address of the live app container (the colour release.json names) in the project network."""
    with open(f"{project_dir}/release.json", encoding="utf-8") as handle:
        service = f"flask-{json.load(handle)['color']}"
    cid = subprocess.run(
        ["docker", "compose", "--project-directory", project_dir, "ps", "-q", service],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    info = json.loads(subprocess.run(["docker", "inspect", cid], check=True, capture_output=True, text=True).stdout)
    return info[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


def wrk(url: str, connections: int, threads: int, duration: int) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "--latency", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(value) * UNITS[unit], errors + (int(non2xx.group(1)) if non2xx else 0)


def ab(url: str, keepalive: bool = False) -> tuple[float, float, int]:
    argv = ["ab", "-q", *(["-k"] if keepalive else []), "-n", "1000", "-c", "10", url]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"^\s+99%\s+(\d+)", out, re.M).group(1))
    # ab counts a response whose length differs from the first one's as failed ("Length"): the page's hit counter
    # gaining a digit during the run made 991 of 1000 "fail". Connection, receive and other errors count.
    breakdown = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", out)
    failed = sum(int(n) for n in breakdown.groups()) if breakdown else 0
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    return rps, p99, failed + (int(non2xx.group(1)) if non2xx else 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", default="10,50", help="comma-separated concurrencies")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--project-dir", default="/opt/iac/stack")
    parser.add_argument("--network", default="devops-network")
    parser.add_argument("--https-port", type=int, default=443)
    args = parser.parse_args()

    ensure_tools()
    tls = f"https://127.0.0.1:{args.https_port}"
    direct = f"http://{app_address(args.project_dir, args.network)}:5000"
    targets = [
        ("nginx-static", f"{tls}/nginx-health"),
        ("gunicorn-direct", f"{direct}/health"),
        ("health-tls", f"{tls}/health"),
        ("api-health-tls", f"{tls}/api/health"),
    ]
    rows = []
    for connections in (int(c) for c in args.connections.split(",")):
        for name, url in targets:
            print(f"... {name} c={connections} ({args.duration}s)", file=sys.stderr, flush=True)
            rows.append((name, f"wrk c={connections}", *wrk(url, connections, args.threads, args.duration)))
    seed = [
        ("home-tls (seed ab)", "ab n=1000 c=10", f"{tls}/", False),
        ("home-tls keep-alive", "ab -k n=1000 c=10", f"{tls}/", True),
        ("nginx-static new-tls", "ab n=1000 c=10", f"{tls}/nginx-health", False),
        ("home gunicorn-direct", "ab n=1000 c=10", f"{direct}/", False),
    ]
    for name, load, url, keepalive in seed:
        print(f"... {name}: {load}", file=sys.stderr, flush=True)
        rows.append((name, load, *ab(url, keepalive)))

    print(f"\n{'target':<20} {'load':<16} {'req/s':>10} {'p99 ms':>9} {'errors':>7}")
    for name, load, rps, p99, errors in rows:
        print(f"{name:<20} {load:<16} {rps:>10.0f} {p99:>9.1f} {errors:>7}")
    by = {(r[0], r[1]): r for r in rows}
    for connections in args.connections.split(","):
        direct_rps = by[("gunicorn-direct", f"wrk c={connections}")][2]
        tls_rps = by[("health-tls", f"wrk c={connections}")][2]
        print(f"TLS proxy cost on /health at c={connections}: {100 * (1 - tls_rps / direct_rps):.1f} % of req/s")
    home = by[("home-tls (seed ab)", "ab n=1000 c=10")][2]
    for name, load, _url, _keepalive in seed[1:]:
        print(f"seed ab on / is {100 * home / by[(name, load)][2]:.0f} % of {name} ({load})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
