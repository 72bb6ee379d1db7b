"""Parsers of the raw tool outputs the verify role collects: each turns one tool's output into plain data, and
raises ParseError when the output is not what the tool prints (so that a broken tool is an error, never a pass).

Every function here is pure: no I/O, no clock (the caller passes `now`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, datetime


class ParseError(ValueError):
    """The output is not what the tool prints when it works."""


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def moment(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp (Docker's nanoseconds, a trailing Z, ASN.1's 20270227115826Z) as an aware
    datetime in UTC."""
    if re.fullmatch(r"\d{14}Z", text):
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?", text.strip())
    if not match:
        raise ParseError(f"not a timestamp: {text!r}")
    fraction = (match.group(3) or ".0")[:7]
    zone = match.group(4) or "+00:00"
    zone = "+00:00" if zone == "Z" else zone
    return _aware(datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{fraction}{zone}"))


def _docker_time(text):
    """A Docker timestamp, or None for Docker's zero time (never started / never finished)."""
    if not text or text.startswith("0001-01-01"):
        return None
    return moment(text)


def _hours(start, end):
    return round((end - start).total_seconds() / 3600, 3) if start and end else None


# --- Docker -------------------------------------------------------------------------------------------------------
def units(containers: list[dict], now: str, services=()) -> list[dict]:
    """One flat summary per container of `docker inspect` (community.docker.docker_container_info's `container`).

    `role` is the entry of `services` the compose service belongs to: the service itself, or one of its variants
    named <service>-<variant> (the blue/green colours flask-blue and flask-green are both `flask`). `label` names
    the container in check names: its service, with the container number when a service has several.
    """
    current = moment(now)
    found = []
    for container in containers:
        config, state, host = (
            container.get("Config") or {},
            container.get("State") or {},
            container.get("HostConfig") or {},
        )
        labels = config.get("Labels") or {}
        created = _docker_time(container.get("Created"))
        started = _docker_time(state.get("StartedAt"))
        health = state.get("Health") or {}
        cpu_limit = (host.get("NanoCpus") or 0) / 1e9
        if not cpu_limit and (host.get("CpuQuota") or 0) > 0 and host.get("CpuPeriod"):
            cpu_limit = host["CpuQuota"] / host["CpuPeriod"]
        name = container.get("Name", "").lstrip("/")
        service = labels.get("com.docker.compose.service", name)
        role = next((s for s in services if service == s or service.startswith(f"{s}-")), service)
        found.append(
            {
                "service": service,
                "role": role,
                "number": labels.get("com.docker.compose.container-number", "1"),
                "name": name,
                "id": container.get("Id", "")[:12],
                "image": config.get("Image", ""),
                "image_id": container.get("Image", ""),
                "state": state.get("Status", "unknown"),
                "running": bool(state.get("Running")),
                "pid": state.get("Pid") or 0,
                "health": health.get("Status", "none"),
                "health_log": [(entry.get("Output") or "").strip()[-300:] for entry in (health.get("Log") or [])[-3:]],
                "exit_code": state.get("ExitCode"),
                "oom_killed": bool(state.get("OOMKilled")),
                "restarts": container.get("RestartCount", 0),
                "created": container.get("Created"),
                "started_at": state.get("StartedAt"),
                "age_hours": _hours(created, current),
                "uptime_hours": _hours(started, current) if state.get("Running") else 0,
                "cpu_limit": cpu_limit,
                "memory_limit": host.get("Memory") or 0,
            }
        )
    per_service: dict[str, int] = {}
    for unit in found:
        per_service[unit["service"]] = per_service.get(unit["service"], 0) + 1
    for unit in found:
        unit["label"] = unit["service"] if per_service[unit["service"]] == 1 else f"{unit['service']}-{unit['number']}"
    return sorted(found, key=lambda unit: unit["label"])


def cgroup_usage(before: str, after: str) -> dict[str, dict]:
    """Per container init pid: CPU (percent of one CPU, as `docker stats` prints it) between two readings of
    files/cgroups.py, and the memory at the second one (bytes and limit).

    A container whose counters cannot be read, or read zero (the kernel does not account its cgroup), gets
    {"error": ...}: a value that was not measured."""
    first, second = json.loads(before), json.loads(after)
    seconds = second["monotonic"] - first["monotonic"]
    found = {}
    for pid, end in second["pids"].items():
        start = first["pids"].get(pid) or {}
        error = end.get("error") or start.get("error")
        if not error and not start:
            error = "no first reading"
        if not error and (end["cpu_ns"] == 0 or end["memory_bytes"] <= 0):
            error = f"the cgroup v{end['version']} counters read zero (no accounting for this cgroup)"
        if error:
            found[pid] = {"error": error}
            continue
        found[pid] = {
            "cpu": round(100 * (end["cpu_ns"] - start["cpu_ns"]) / (seconds * 1e9), 2) if seconds > 0 else None,
            "memory_bytes": end["memory_bytes"],
            "memory_limit": end["memory_limit"],
        }
    return found


def published_ports(containers: list[dict]) -> list[dict]:
    """Ports containers (docker_host_info's `containers`) publish on non-loopback host addresses."""
    published = []
    for container in containers:
        name = (container.get("Names") or ["?"])[0].lstrip("/")
        for port in container.get("Ports") or []:
            if not port.get("PublicPort") or LOOPBACK.match(port.get("IP") or ""):
                continue
            address = port.get("IP") or "0.0.0.0"
            text = f"{name} {address}:{port['PublicPort']}->{port.get('PrivatePort')}/{port.get('Type')}"
            published.append({"port": port["PublicPort"], "text": text})
    return published


# --- Host ---------------------------------------------------------------------------------------------------------
def cpu_counters(stat: str) -> list[int]:
    """The first eight counters of the aggregate `cpu` line of /proc/stat."""
    first = stat.splitlines()[0].split() if stat.strip() else []
    if len(first) < 9 or first[0] != "cpu":
        raise ParseError("no aggregate cpu line in /proc/stat")
    return [int(n) for n in first[1:9]]


def cpu_busy(before: str, after: str) -> float:
    """Busy share of all CPUs, in percent, between two readings of /proc/stat (idle time is idle + iowait)."""
    return busy_percent([b - a for a, b in zip(cpu_counters(before), cpu_counters(after), strict=True)])


def busy_percent(delta: list[int]) -> float:
    """Busy share, in percent, of the differences of the eight cpu counters over a time."""
    if sum(delta) <= 0:
        raise ParseError("the two /proc/stat readings are not apart in time")
    return round(100 * (1 - (delta[3] + delta[4]) / sum(delta)), 1)


def meminfo(text: str) -> dict[str, int]:
    """MemTotal and MemAvailable of /proc/meminfo, in KiB."""
    values = dict(re.findall(r"^(MemTotal|MemAvailable):\s+(\d+) kB$", text, re.MULTILINE))
    if set(values) != {"MemTotal", "MemAvailable"} or not int(values["MemTotal"]):
        raise ParseError("no MemTotal/MemAvailable in /proc/meminfo")
    return {key: int(value) for key, value in values.items()}


LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")
_LOCAL = re.compile(r"^\[?(.*?)\]?(?:%\S+)?:(\d+|\*)$")


def listeners(output: str) -> list[dict]:
    """Listening sockets from `ss --no-header --listening --tcp --udp --numeric --processes`: protocol, address,
    port, process (empty when ss cannot see the owner) and a text for the report.

    A line that is not a socket of ss's table is a ParseError: skipped, a garbled output would read as no socket."""
    found = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = line.split(None, 6)
        match = _LOCAL.match(cells[4]) if len(cells) >= 5 and cells[0] in ("tcp", "udp") else None
        if not match:
            raise ParseError(f"not a socket line of ss: {line.strip()[:120]!r}")
        if match.group(2) == "*":
            continue
        address, port = match.group(1), int(match.group(2))
        owners = re.findall(r'\("([^"]+)",pid=(\d+)', cells[6] if len(cells) > 6 else "")
        process = ", ".join(sorted({f"{name} {pid}" for name, pid in owners})) or "owner not visible"
        shown = f"[{address}]" if ":" in address else address
        found.append(
            {
                "protocol": cells[0],
                "address": address,
                "port": port,
                "loopback": bool(LOOPBACK.match(address)),
                "text": f"{shown}:{port}/{cells[0]} ({process})",
            }
        )
    return found


# --- TLS ----------------------------------------------------------------------------------------------------------
def s_client_brief(stdout: str, stderr: str) -> dict:
    """What `openssl s_client -brief` negotiated: {"protocol", "cipher"}; protocol None when no handshake was made
    (the error is in "error")."""
    text = stdout + "\n" + stderr
    protocol = re.search(r"^Protocol version: (\S+)", text, re.MULTILINE)
    cipher = re.search(r"^Ciphersuite: (\S+)", text, re.MULTILINE)
    if protocol:
        return {"protocol": protocol.group(1), "cipher": cipher.group(1) if cipher else None, "error": ""}
    errors = [line.strip() for line in text.splitlines() if re.search(r"error|refused|alert|errno", line, re.I)]
    return {"protocol": None, "cipher": None, "error": (errors[0] if errors else text.strip()[-200:]) or "no output"}


def certificate_names(subject_alt_name, subject=None) -> list[str]:
    """DNS and IP names of a certificate, as x509_certificate_info reports them ("DNS:localhost", "IP:127.0.0.1";
    the subject's CN counts only when there is no subjectAltName, as RFC 6125 says)."""
    names = []
    for entry in subject_alt_name or []:
        kind, _, value = entry.partition(":")
        if kind in ("DNS", "IP"):
            names.append(f"{kind}:{value}")
    if not names and (subject or {}).get("commonName"):
        names.append(f"DNS:{subject['commonName']}")
    return names


def name_matches(names: list[str], server_name: str) -> bool:
    """Whether `server_name` is one of the certificate's names: IP addresses exactly, DNS names case-insensitively,
    a wildcard only as the whole left-most label and matching exactly one label."""
    try:
        address = ipaddress.ip_address(server_name)
    except ValueError:
        address = None
    wanted = server_name.lower().rstrip(".")
    for entry in names:
        kind, _, value = entry.partition(":")
        if address is not None:
            if kind == "IP" and ipaddress.ip_address(value) == address:
                return True
            continue
        if kind != "DNS":
            continue
        pattern = value.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            head, _, rest = wanted.partition(".")
            if head and rest == pattern[2:]:
                return True
    return False


# --- Load runs ----------------------------------------------------------------------------------------------------
def _ab_number(text: str, label: str) -> float:
    match = re.search(rf"^{re.escape(label)}\s+([\d.]+)", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def load_run(output: str, tool: str) -> dict:
    """Throughput, latency percentiles and failures of one run of wrk (with the role's wrk-report.lua) or ab.

    A request fails when it gets no response (connect, read, write errors, timeouts) or a status >= 400 (wrk;
    ab: non-2xx). ab's "Length" failures (a body of another size than the first one) are not failures.
    `percentiles` maps a percentile to milliseconds: the latency distribution the HTML report draws.
    """
    if tool == "wrk":
        match = re.search(r"^VERIFY_WRK (\{.*\})$", output, re.MULTILINE)
        if not match:
            raise ParseError("wrk printed no VERIFY_WRK line (is wrk-report.lua loaded?)")
        try:
            run = json.loads(match.group(1))
            errors = run["errors"]
            socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
            requests = run["requests"]
            percentiles = {float(p): us / 1000 for p, us in run["percentiles_us"].items()}
            seconds = run["duration_us"] / 1e6
        except (ValueError, KeyError, TypeError) as exc:
            raise ParseError(f"wrk's report is not what wrk-report.lua prints: {exc}") from exc
        failures = {"status >= 400": errors["status"], **{k: v for k, v in errors.items() if k != "status"}}
        attempts = requests + errors["connect"] + errors["read"] + errors["write"]
        failed = errors["status"] + socket_errors
    elif tool == "ab":
        if "Requests per second:" not in output:
            raise ParseError("ab printed no summary")
        requests = int(_ab_number(output, "Complete requests:"))
        breakdown = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", output)
        socket_errors = sum(int(n) for n in breakdown.groups()) if breakdown else 0
        non_2xx = int(_ab_number(output, "Non-2xx responses:"))
        failures = {"non-2xx": non_2xx, "socket errors": socket_errors}
        attempts, failed = requests + socket_errors, non_2xx + socket_errors
        seconds = _ab_number(output, "Time taken for tests:")
        percentiles = {
            float(p): float(ms) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", output, re.MULTILINE) if p != "100"
        }
        if not percentiles:
            raise ParseError("ab printed no latency percentiles")
    else:
        raise ParseError(f"unknown load tool {tool!r}")
    if seconds <= 0 or not attempts:
        # wrk reports completed requests and socket errors only: requests still waiting at the end are not in it.
        raise ParseError("no request of the load run was answered or failed before it ended")

    def at(p: float) -> float:
        # ab prints 50, 66, 75, 80, 90, 95, 98, 99; the lowest listed percentile at or above p answers for it.
        return round(min((ms for q, ms in percentiles.items() if q >= p), default=max(percentiles.values())), 2)

    return {
        "requests": requests,
        "attempts": attempts,
        "failed": failed,
        "failures": ", ".join(f"{k} {v}" for k, v in failures.items() if v) or "none",
        "success_percent": round(100 * (attempts - failed) / attempts, 3),
        "rps": round(requests / seconds, 1),
        "seconds": round(seconds, 2),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "percentiles": {f"{p:g}": round(ms, 3) for p, ms in sorted(percentiles.items())},
    }


# --- Scanners -----------------------------------------------------------------------------------------------------
_TRIVY_KINDS = {"vulnerabilities": "Vulnerabilities", "misconfigurations": "Misconfigurations", "secrets": "Secrets"}
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def trivy(output: str) -> dict:
    """Counts by severity of trivy's JSON report (vulnerabilities, failed misconfigurations, secrets) and what was
    found: (severity, id) pairs per kind, vulnerabilities as `ID package@version`."""
    try:
        report = json.loads(output)
    except ValueError as exc:
        raise ParseError(f"trivy printed no JSON report: {exc}") from exc
    if not isinstance(report, dict) or "SchemaVersion" not in report:
        raise ParseError("not a trivy JSON report (no SchemaVersion)")
    counts = {kind: dict.fromkeys(SEVERITIES, 0) for kind in _TRIVY_KINDS}
    found: dict[str, list] = {kind: [] for kind in _TRIVY_KINDS}
    results = report.get("Results") or []
    for result in results:
        for kind, key in _TRIVY_KINDS.items():
            for finding in result.get(key) or []:
                if kind == "misconfigurations" and finding.get("Status", "FAIL") != "FAIL":
                    continue
                severity = finding.get("Severity", "UNKNOWN")
                counts[kind][severity] = counts[kind].get(severity, 0) + 1
                if kind == "vulnerabilities":
                    ident = (
                        f"{finding.get('VulnerabilityID')} {finding.get('PkgName')}@{finding.get('InstalledVersion')}"
                    )
                else:
                    ident = f"{finding.get('ID') or finding.get('RuleID') or '?'}({result.get('Target', '')})"
                found[kind].append((severity, ident))
    return {**counts, "found": found, "targets": len(results)}


def pip_audit(output: str) -> dict:
    """pip-audit's JSON report: the packages audited, the ones it could not look up (skipped, with its reason) and
    the vulnerable ones (name, version, advisory IDs)."""
    try:
        report = json.loads(output)
        dependencies = report["dependencies"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"pip-audit printed no JSON report: {exc}") from exc
    vulnerable = [
        {"name": d["name"], "version": d.get("version", "?"), "ids": [v["id"] for v in d["vulns"]]}
        for d in dependencies
        if d.get("vulns")
    ]
    return {
        "packages": len(dependencies),
        "audited": len([d for d in dependencies if "skip_reason" not in d]),
        "skipped": [d["skip_reason"] for d in dependencies if "skip_reason" in d],
        "vulnerable": vulnerable,
        "count": sum(len(v["ids"]) for v in vulnerable),
    }


def apt_pending(policy: str, simulation: str) -> dict:
    """Pending updates from `apt-cache policy` (which package indexes apt has) and `apt-get -s upgrade` (what it
    would install): the packages, the security ones (from a *-security suite) separately.

    Without the index of any configured source (apt-cache policy lists only the dpkg status), nothing can be
    compared, which is an error, not zero updates."""
    indexes = re.findall(r"^\s*\d+ (\S+) (\S+) \S+ Packages$", policy, re.MULTILINE)
    if not indexes:
        raise ParseError("apt has no package index of any source (apt-cache policy lists none)")
    if not re.search(r"^\d+ upgraded, \d+ newly installed", simulation, re.MULTILINE):
        raise ParseError("apt-get -s upgrade printed no summary")
    pending = []
    for name, current, new, origin in re.findall(
        r"^Inst (\S+) \[([^\]]+)\] \((\S+) ([^\[)]+?)(?: \[[^\]]+\])?\)", simulation, re.MULTILINE
    ):
        pending.append(
            {
                "package": name,
                "installed": current,
                "candidate": new,
                "origin": origin,
                "security": "security" in origin.lower(),
            }
        )
    return {
        "indexes": sorted({f"{uri} {suite}" for uri, suite in indexes}),
        "pending": pending,
        "security": [p for p in pending if p["security"]],
    }


# --- Audit --------------------------------------------------------------------------------------------------------
def auditctl_status(output: str) -> dict:
    """`auditctl -s`: whether auditing is enabled and the PID of the daemon receiving the events (0: none)."""
    values = dict(re.findall(r"^(\w+) (\d+)", output, re.MULTILINE))
    if "enabled" not in values or "pid" not in values:
        raise ParseError("auditctl -s printed no enabled/pid line")
    return {"enabled": int(values["enabled"]) > 0, "pid": int(values["pid"]), "lost": int(values.get("lost", 0))}


def auditctl_rules(output: str) -> dict[str, list[str]]:
    """Loaded rules of `auditctl -l` by key (-k / key=): {key: [rule, ...]}."""
    rules: dict[str, list[str]] = {}
    for line in output.splitlines():
        key = re.search(r"(?:-k |-F key=)(\S+)", line)
        if key:
            rules.setdefault(key.group(1), []).append(line.strip())
    return rules


def audit_last_events(log: str) -> dict[str, float]:
    """The time (epoch seconds) of the last event of each key in raw audit log lines (audit.log format)."""
    last: dict[str, float] = {}
    for stamp, key in re.findall(r'msg=audit\((\d+\.\d+):\d+\).*?key="([^"]+)"', log):
        last[key] = max(last.get(key, 0.0), float(stamp))
    return last


def k8s_audit_last_event(log: str) -> float | None:
    """The time (epoch seconds) of the newest event in lines of the Kubernetes API server's audit log (one JSON
    event a line, audit.k8s.io/v1; when its answer was sent: stageTimestamp), None when there is none. A line that is
    not an event (one still being written) is passed over."""
    last = None
    for line in log.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("kind") != "Event" or not event.get("stageTimestamp"):
            continue
        try:
            stamp = moment(event["stageTimestamp"]).timestamp()
        except ParseError:
            continue
        last = stamp if last is None else max(last, stamp)
    return last


def nginx_access_lines(output: str) -> list[dict]:
    """Access log entries in Nginx's output (the stack logs one JSON object a line): the ones with a time, the
    client's address, the request and the status."""
    entries = []
    for line in output.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(entry, dict) and {"time", "remote", "method", "uri", "status"} <= entry.keys():
            entries.append(entry)
    return entries


# --- Prometheus ---------------------------------------------------------------------------------------------------
def prometheus_vector(answer) -> list[tuple[dict, float]]:
    """The samples of an instant query answered by Prometheus' HTTP API (/api/v1/query): [(labels, value)]."""
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError as exc:
            raise ParseError(f"Prometheus answered no JSON: {exc}") from exc
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise ParseError(
            f"Prometheus query failed: {(answer or {}).get('error', answer) if isinstance(answer, dict) else answer}"
        )
    data = answer.get("data") or {}
    if data.get("resultType") == "scalar":
        return [({}, float(data["result"][1]))]
    if data.get("resultType") != "vector":
        raise ParseError(f"expected a vector, Prometheus answered {data.get('resultType')!r}")
    return [(sample.get("metric") or {}, float(sample["value"][1])) for sample in data.get("result") or []]
