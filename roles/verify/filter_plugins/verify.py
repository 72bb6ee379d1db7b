"""Filters of the verify role: summarise containers, judge each check against its threshold, render the report.

A check is a dict: category, name, value (the measurement), unit, op, threshold, setting (the variable the
threshold comes from), and optionally display (how the value is shown), expected (how the threshold is shown),
detail and status. A status set by the task that measured the check (error, skipped, unavailable) is kept;
otherwise the value is compared with the threshold.
"""

from __future__ import annotations

import json
import operator
import re
from datetime import UTC, datetime

from ansible.errors import AnsibleFilterError

STATUSES = ("pass", "fail", "error", "unavailable", "skipped")
_TRIVY_KINDS = {"vulnerabilities": "Vulnerabilities", "misconfigurations": "Misconfigurations", "secrets": "Secrets"}
_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _now(now: str) -> datetime:
    return _aware(datetime.fromisoformat(now))


def _time(text):
    """A Docker timestamp (RFC 3339 with nanoseconds) as an aware datetime; None for Docker's zero time."""
    if not text or text.startswith("0001-01-01"):
        return None
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        raise AnsibleFilterError(f"verify: cannot read the timestamp {text!r}")
    fraction = (match.group(2) or ".0")[:7]
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    return datetime.fromisoformat(match.group(1) + fraction + zone)


def _hours(start, end):
    return round((end - start).total_seconds() / 3600, 3) if start and end else None


def verify_days_until(moment, now):
    """Days from `now` (ISO 8601) until `moment` (openssl's `-dateopt iso_8601`, e.g. 2027-02-27 11:58:26Z)."""
    when = _aware(datetime.strptime(moment.strip(), "%Y-%m-%d %H:%M:%SZ"))
    return round((when - _now(now)).total_seconds() / 86400, 2)


def verify_cpu_busy(before, after):
    """Busy share of all CPUs, in percent, between two readings of /proc/stat (idle time is idle + iowait)."""
    first, second = ([int(n) for n in text.splitlines()[0].split()[1:9]] for text in (before, after))
    total = sum(second) - sum(first)
    idle = (second[3] + second[4]) - (first[3] + first[4])
    return round(100 * (1 - idle / total), 1) if total > 0 else None


def verify_tls_session(output):
    """What `openssl s_client -showcerts` printed: negotiated protocol and cipher, chain verification, leaf PEM."""
    negotiated = re.search(r"^New, (\S+), Cipher is (\S+)", output, re.MULTILINE)
    verified = re.search(r"^\s*Verify return code: (\d+) \(([^)]*)\)", output, re.MULTILINE)
    pem = re.search(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", output)
    return {
        "protocol": negotiated.group(1) if negotiated else None,
        "cipher": negotiated.group(2) if negotiated else None,
        "verify_code": int(verified.group(1)) if verified else None,
        "verify_result": verified.group(2) if verified else None,
        "pem": pem.group(0) + "\n" if pem else "",
    }


def verify_certificate(output, now):
    """Dates, names and name match from `openssl x509 -startdate -enddate -dateopt iso_8601 -ext subjectAltName
    -checkhost NAME`; days are counted from `now` (ISO 8601)."""
    not_before = re.search(r"^notBefore=(.+)$", output, re.MULTILINE)
    not_after = re.search(r"^notAfter=(.+)$", output, re.MULTILINE)
    if not (not_before and not_after):
        return {}
    days_left = verify_days_until(not_after.group(1), now)
    days_since = -verify_days_until(not_before.group(1), now)
    names = [re.sub(r"^IP Address:", "IP:", n.strip()) for n in re.findall(r"(?:DNS|IP Address):[^,\n]+", output)]
    return {
        "not_before": not_before.group(1).strip(),
        "not_after": not_after.group(1).strip(),
        "days_left": days_left,
        "valid_now": days_since >= 0 and days_left > 0,
        "names": names,
        "name_matches": bool(re.search(r" does match certificate", output)),
    }


def verify_docker_stats(output):
    """Per container (12-character id): mean CPU percent, peak memory percent and the last memory usage of the
    samples `docker stats --format '{{ json . }}'` printed (terminal control sequences are dropped)."""
    samples = {}
    for raw in re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "\n", output).splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            sample = json.loads(line)
            cpu = float(sample["CPUPerc"].rstrip("%"))
            memory = float(sample["MemPerc"].rstrip("%"))
        except (ValueError, KeyError):
            continue
        samples.setdefault(sample["ID"][:12], []).append((cpu, memory, sample.get("MemUsage", "")))
    return {
        container: {
            "cpu": round(sum(s[0] for s in rows) / len(rows), 2),
            "memory": max(s[1] for s in rows),
            "memory_usage": rows[-1][2],
            "samples": len(rows),
        }
        for container, rows in samples.items()
    }


def verify_units(containers, now, services=()):
    """One flat summary per container of `docker inspect`, with the figures the availability checks need.

    `role` is the entry of `services` the compose service belongs to: the service itself, or one of its variants
    named <service>-<variant> (the blue/green colours flask-blue and flask-green are both `flask`).

    A failure is a restart made by Docker's restart policy (RestartCount); a stop by an operator or a redeploy is
    not one. MTBF is the container's age divided by its failures; the last repair time is the gap between the end
    of the failed run (FinishedAt) and the restart (StartedAt).
    """
    now = _now(now)
    units = []
    for container in containers:
        config, state, host = container.get("Config", {}), container.get("State", {}), container.get("HostConfig", {})
        labels = config.get("Labels") or {}
        created = _time(container.get("Created"))
        started, finished = _time(state.get("StartedAt")), _time(state.get("FinishedAt"))
        restarts = container.get("RestartCount", 0)
        repair = None
        if restarts and started and finished and finished <= started:
            repair = round((started - finished).total_seconds() / 60, 3)
        health = state.get("Health") or {}
        published = []
        for port, bindings in sorted((container.get("NetworkSettings", {}).get("Ports") or {}).items()):
            for binding in bindings or []:
                published.append(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}->{port}")
        cpu_limit = (host.get("NanoCpus") or 0) / 1e9
        if not cpu_limit and host.get("CpuQuota", 0) > 0 and host.get("CpuPeriod"):
            cpu_limit = host["CpuQuota"] / host["CpuPeriod"]
        name = container.get("Name", "").lstrip("/")
        service = labels.get("com.docker.compose.service", name)
        role = next((s for s in services if service == s or service.startswith(f"{s}-")), service)
        units.append(
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
                "health": health.get("Status", "none"),
                "health_log": [(entry.get("Output") or "").strip()[-300:] for entry in (health.get("Log") or [])[-3:]],
                "exit_code": state.get("ExitCode"),
                "oom_killed": bool(state.get("OOMKilled")),
                "restarts": restarts,
                "created": container.get("Created"),
                "started_at": state.get("StartedAt"),
                "age_hours": _hours(created, now),
                "uptime_hours": _hours(started, now) if state.get("Running") else 0,
                "mtbf_hours": round(_hours(created, now) / restarts, 3) if restarts and created else None,
                "last_repair_minutes": repair,
                "cpu_limit": cpu_limit,
                "memory_limit": host.get("Memory") or 0,
                "published": published,
            }
        )
    per_service = {}
    for unit in units:
        per_service[unit["service"]] = per_service.get(unit["service"], 0) + 1
    for unit in units:
        unit["label"] = unit["service"] if per_service[unit["service"]] == 1 else f"{unit['service']}-{unit['number']}"
    return sorted(units, key=lambda unit: unit["label"])


def _ab_number(text, label):
    match = re.search(rf"^{re.escape(label)}\s+([\d.]+)", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def verify_load_result(output, tool):
    """Throughput, p95/p99 latency and success ratio from the output of wrk (with wrk-report.lua) or ab.

    A request fails when it gets no response (connect, read, write errors, timeouts) or a status >= 400 (wrk;
    ab: non-2xx). ab's "Length" failures (a body of another size than the first one) are not failures.
    """
    if tool == "wrk":
        match = re.search(r"^VERIFY_WRK (\{.*\})$", output, re.MULTILINE)
        if not match:
            return {}
        run = json.loads(match.group(1))
        errors = run["errors"]
        socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
        failures = {"status >= 400": errors["status"], **{k: v for k, v in errors.items() if k != "status"}}
        requests, attempts = run["requests"], run["requests"] + errors["connect"] + errors["read"] + errors["write"]
        failed = errors["status"] + socket_errors
        rps = requests / (run["duration_us"] / 1e6) if run["duration_us"] else 0.0
        p95, p99 = run["latency_us"]["p95"] / 1000, run["latency_us"]["p99"] / 1000
    elif tool == "ab":
        if "Requests per second:" not in output:
            return {}
        requests = int(_ab_number(output, "Complete requests:"))
        breakdown = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", output)
        socket_errors = sum(int(n) for n in breakdown.groups()) if breakdown else 0
        non_2xx = int(_ab_number(output, "Non-2xx responses:"))
        failures = {"non-2xx": non_2xx, "socket errors": socket_errors}
        attempts, failed = requests + socket_errors, non_2xx + socket_errors
        rps = _ab_number(output, "Requests per second:")
        p95, p99 = _ab_number(output, "  95%"), _ab_number(output, "  99%")
    else:
        raise AnsibleFilterError(f"verify: unknown load tool {tool!r}")
    return {
        "requests": requests,
        "attempts": attempts,
        "failed": failed,
        "failures": ", ".join(f"{k} {v}" for k, v in failures.items() if v) or "none",
        "success_percent": round(100 * (attempts - failed) / attempts, 3) if attempts else None,
        "rps": round(rps, 1),
        "p95_ms": round(p95, 2),
        "p99_ms": round(p99, 2),
    }


_LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")


def verify_listeners(output):
    """Listening sockets from `ss --no-header --listening --tcp --udp --numeric --processes`.

    Each is protocol, address, port, process (empty when ss cannot see the owner) and a text for the report.
    """
    listeners = []
    for line in output.splitlines():
        cells = line.split(None, 6)
        if len(cells) < 5 or cells[0] not in ("tcp", "udp"):
            continue
        match = re.match(r"^\[?(.*?)\]?(?:%\S+)?:(\d+|\*)$", cells[4])
        if not match or match.group(2) == "*":
            continue
        address, port = match.group(1), int(match.group(2))
        owners = re.findall(r'\("([^"]+)",pid=(\d+)', cells[6] if len(cells) > 6 else "")
        process = ", ".join(sorted({f"{name} {pid}" for name, pid in owners})) or "owner not visible"
        shown = f"[{address}]" if ":" in address else address
        listeners.append(
            {
                "protocol": cells[0],
                "address": address,
                "port": port,
                "process": process,
                "text": f"{shown}:{port}/{cells[0]} ({process})",
            }
        )
    return listeners


def verify_published_ports(container):
    """Ports a container (docker_host_info's list) publishes on non-loopback host addresses: port and text."""
    name = (container.get("Names") or ["?"])[0].lstrip("/")
    published = []
    for port in container.get("Ports") or []:
        if not port.get("PublicPort") or _LOOPBACK.match(port.get("IP") or ""):
            continue
        text = (
            f"{name} {port.get('IP') or '0.0.0.0'}:{port['PublicPort']}->{port.get('PrivatePort')}/{port.get('Type')}"
        )
        published.append({"port": port["PublicPort"], "text": text})
    return published


def verify_trivy_counts(output, severities=("CRITICAL", "HIGH")):
    """Counts by severity of trivy's JSON report (vulnerabilities, failed misconfigurations, secrets), and the IDs
    of the critical vulnerabilities, the secrets and the misconfigurations of the gating `severities`."""
    try:
        report = json.loads(output)
    except ValueError:
        return {}
    counts = {kind: dict.fromkeys(("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"), 0) for kind in _TRIVY_KINDS}
    ids = {kind: [] for kind in _TRIVY_KINDS}
    files = 0
    for result in report.get("Results") or []:
        files += 1
        for kind, key in _TRIVY_KINDS.items():
            for finding in result.get(key) or []:
                if kind == "misconfigurations" and finding.get("Status", "FAIL") != "FAIL":
                    continue
                severity = finding.get("Severity", "UNKNOWN")
                counts[kind][severity] = counts[kind].get(severity, 0) + 1
                ident = finding.get("VulnerabilityID") or finding.get("ID") or finding.get("RuleID") or "?"
                ids[kind].append(
                    (severity, f"{ident}({result.get('Target', '')})" if kind != "vulnerabilities" else ident)
                )
    return {
        **counts,
        "secrets_total": sum(counts["secrets"].values()),
        "critical_ids": sorted({i for sev, i in ids["vulnerabilities"] if sev == "CRITICAL"})[:10],
        "secret_ids": sorted({i for _, i in ids["secrets"]})[:10],
        "misconfig_ids": sorted({f"{i}[{sev}]" for sev, i in ids["misconfigurations"] if sev in severities})[:10],
        "files": files,
    }


def _compare(value, op, threshold):
    if op in _COMPARE:
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
            return _COMPARE[op](float(value), float(threshold))
        return _COMPARE[op](value, threshold)
    if op == "subset":
        return set(value) <= set(threshold)
    if op == "in":
        return value in threshold
    raise AnsibleFilterError(f"verify: unknown comparison {op!r}")


def verify_evaluate(checks):
    """Return the checks with a status: pass or fail from value/op/threshold, unless the measuring task set one."""
    judged = []
    for given in checks:
        check = dict(given)
        if not check.get("name") or not check.get("category"):
            raise AnsibleFilterError(f"verify: a check needs a name and a category: {check!r}")
        status = check.get("status")
        if status:
            if status not in STATUSES:
                raise AnsibleFilterError(f"verify: check {check['name']} has an unknown status {status!r}")
        elif check.get("value") is None:
            check["status"] = "error"
            check["detail"] = check.get("detail") or "not measured"
        else:
            try:
                passed = _compare(check["value"], check.get("op", "=="), check["threshold"])
            except (TypeError, ValueError) as exc:
                check["status"] = "error"
                check["detail"] = f"cannot compare {check['value']!r} with {check.get('threshold')!r}: {exc}"
            else:
                check["status"] = "pass" if passed else "fail"
        judged.append(check)
    return judged


def verify_failed(checks, gating_statuses):
    """Names of the checks whose status fails the gate."""
    return [check["name"] for check in checks if check["status"] in gating_statuses]


def verify_counts(checks):
    counts = dict.fromkeys(STATUSES, 0)
    for check in checks:
        counts[check["status"]] += 1
    return counts


def _show(value, unit=""):
    """A value as the table prints it: numbers rounded and with their unit, lists joined."""
    unit = unit or ""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        number = f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        return f"{number} {unit}".strip()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    return str(value)


def verify_table(checks, width=58):
    """The human summary: one row per check (check, value, threshold, status); long cells are cut at `width`."""
    rows = [("CHECK", "VALUE", "THRESHOLD", "STATUS")]
    for check in checks:
        threshold = (
            check.get("expected") or f"{check.get('op', '==')} {_show(check.get('threshold'), check.get('unit', ''))}"
        )
        status = check["status"].upper()
        if check["status"] in ("unavailable", "skipped", "error") and check.get("detail"):
            status = f"{status}: {check['detail']}"
        shown = check.get("display")
        value = _show(check.get("value") if shown is None else shown, check.get("unit", ""))
        rows.append((check["name"], value, threshold, status))

    def cut(text):
        return text if len(text) <= width else text[: width - 1] + "…"

    rows = [(cut(name), cut(value), cut(threshold), status) for name, value, threshold, status in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


class FilterModule:
    def filters(self):
        return {
            "verify_counts": verify_counts,
            "verify_certificate": verify_certificate,
            "verify_cpu_busy": verify_cpu_busy,
            "verify_days_until": verify_days_until,
            "verify_docker_stats": verify_docker_stats,
            "verify_evaluate": verify_evaluate,
            "verify_failed": verify_failed,
            "verify_listeners": verify_listeners,
            "verify_load_result": verify_load_result,
            "verify_published_ports": verify_published_ports,
            "verify_trivy_counts": verify_trivy_counts,
            "verify_table": verify_table,
            "verify_tls_session": verify_tls_session,
            "verify_units": verify_units,
        }
