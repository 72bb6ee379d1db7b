"""The monitor playbook's judgement of one Docker host: what the role's tasks read (the stack's compose file, the
containers' `docker inspect`, two cgroup readings, /api/health through Nginx, the firing alerts, log lines) turned
into a table and a list of problems, each naming what is wrong.

    judged = judge(raw, settings)        {"rows", "health", "alerts", "problems", "log_targets", "result"}
    print(report(judged, logs))          the table, the health check outputs, the log lines, the verdict

Pure: no I/O, no clock (raw["now"] is the time of the reading). The container summaries and the CPU/memory come
from verify's parsers (verify.parse.units, verify.parse.cgroup_usage), so both roles read Docker the same way.
"""

from __future__ import annotations

import json
import re

from ansible_collections.iac.core.plugins.module_utils.verify import parse

UNAVAILABLE = "UNAVAILABLE"
HEALTH_LOG_OUTPUT = 400  # characters kept of each health check's output


# --- Inputs -------------------------------------------------------------------------------------------------------
def expected_services(compose: dict) -> tuple[dict[str, int], str]:
    """{service: replicas} of `docker compose config --format json` (the task's result), and an error when the
    stack's compose file could not be read. A service scaled to 0 (the app's idle colour) is expected to have no
    running container."""
    if compose.get("skipped"):
        return {}, "the stack's compose file was not read"
    if compose.get("rc", 1) != 0:
        why = (compose.get("stderr") or compose.get("msg") or "").strip().splitlines()
        return {}, f"docker compose config failed: {why[-1] if why else 'rc=' + str(compose.get('rc'))}"
    try:
        config = json.loads(compose.get("stdout") or "")
    except ValueError as exc:
        raise parse.ParseError(f"docker compose config printed no JSON: {exc}") from exc
    found = {}
    for name, service in (config.get("services") or {}).items():
        replicas = (service.get("deploy") or {}).get("replicas")
        found[name] = 1 if replicas is None else int(replicas)
    return found, ""


def usage(readings: list) -> dict[str, dict]:
    """Per pid (str): cpu (percent of one CPU), memory_bytes, memory_limit, or error, from the two readings of
    iac.core.cgroup_usage."""
    if not readings or len(readings) != 2:
        return {}
    return parse.cgroup_usage(json.dumps(readings[0]), json.dumps(readings[1]))


def health_log(container: dict, entries: int) -> list[dict]:
    """The last health checks Docker kept (State.Health.Log): start, exit code, output."""
    log = ((container.get("State") or {}).get("Health") or {}).get("Log") or []
    return [
        {
            "start": (entry.get("Start") or "")[:19].replace("T", " "),
            "exit_code": entry.get("ExitCode"),
            "output": (entry.get("Output") or "").strip()[-HEALTH_LOG_OUTPUT:],
        }
        for entry in log[-entries:]
    ]


# --- Judgement ----------------------------------------------------------------------------------------------------
def _mib(value) -> str:
    return f"{value / 1073741824:.1f} GiB" if value >= 1073741824 else f"{value / 1048576:.1f} MiB"


def _duration(seconds: float) -> str:
    days, rest = divmod(max(int(seconds), 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _row(unit: dict, used: dict, expected: int | None) -> dict:
    problem = ""
    if unit["state"] == "restarting":
        problem = f"restarting (restarted {unit['restarts']} times)"
    elif not unit["running"]:
        if expected:
            exit_code = unit.get("exit_code")
            problem = f"not running ({unit['state']}, exit code {exit_code})"
            if unit.get("oom_killed"):
                problem += ", killed for lack of memory"
    elif unit["health"] == "unhealthy":
        problem = "unhealthy"
    elif unit["health"] == "starting":
        problem = "health check still starting"
    cpu = memory = "-"
    if unit["running"]:
        if "error" in used:
            cpu = memory = UNAVAILABLE
        elif used:
            cpu = f"{used['cpu']:.1f}" if used.get("cpu") is not None else UNAVAILABLE
            limit = used.get("memory_limit") or unit.get("memory_limit")
            memory = _mib(used["memory_bytes"]) + (
                f" / {_mib(limit)} ({100 * used['memory_bytes'] / limit:.0f} %)" if limit else ""
            )
        else:
            cpu = memory = UNAVAILABLE
    return {
        "service": unit["service"],
        "container": unit["name"],
        "id": unit["id"],
        "state": unit["state"],
        "health": unit["health"],
        "restarts": unit["restarts"],
        "cpu": cpu,
        "memory": memory,
        "uptime": _duration(unit["uptime_hours"] * 3600) if unit["running"] else "-",
        "expected": bool(expected),
        "usage_error": used.get("error", ""),
        "problem": problem,
    }


def judge_health(answer: dict, url: str) -> dict:
    """/api/health through Nginx (ansible.builtin.uri's result): 200 with status ok, or what failed."""
    if not answer or answer.get("skipped"):
        return {"ok": False, "text": f"{url}: not requested"}
    status = answer.get("status", -1)
    body = answer.get("json")
    if body is None:
        try:
            body = json.loads(answer.get("content") or "")
        except ValueError:
            body = None
    checks = body.get("checks") if isinstance(body, dict) else None
    detail = ", ".join(
        f"{name} {check.get('status')}" + (f" ({check['error']})" if check.get("error") else "")
        for name, check in sorted((checks or {}).items())
    )
    if status == -1 or status is None:
        why = (answer.get("msg") or "no answer").strip()
        return {"ok": False, "text": f"{url}: no answer ({why})"}
    ok = status == 200 and isinstance(body, dict) and body.get("status") == "ok"
    text = f"{url}: HTTP {status}" + (f", {body.get('status')}" if isinstance(body, dict) else ", no JSON body")
    if detail:
        text += f" ({detail})"
    return {"ok": ok, "text": text, "failing": (body or {}).get("failing", []) if isinstance(body, dict) else []}


def _alert_list(source: str, body) -> list[dict]:
    """Firing alerts as {name, severity, since, summary, labels} from Alertmanager's /api/v2/alerts or Prometheus'
    /api/v1/alerts."""
    found = []
    if source == "alertmanager":
        if not isinstance(body, list):
            raise parse.ParseError("Alertmanager's /api/v2/alerts did not answer a list")
        for alert in body:
            state = (alert.get("status") or {}).get("state", "active")
            if state != "active":
                continue
            found.append((alert.get("labels") or {}, alert.get("annotations") or {}, alert.get("startsAt")))
    else:
        if not isinstance(body, dict) or body.get("status") != "success":
            raise parse.ParseError("Prometheus' /api/v1/alerts did not answer success")
        for alert in body.get("data", {}).get("alerts") or []:
            if alert.get("state") != "firing":
                continue
            found.append((alert.get("labels") or {}, alert.get("annotations") or {}, alert.get("activeAt")))
    return [
        {
            "name": labels.get("alertname", "?"),
            "severity": labels.get("severity", ""),
            "since": since,
            "summary": annotations.get("summary", ""),
            "labels": {k: v for k, v in sorted(labels.items()) if k not in ("alertname", "severity")},
        }
        for labels, annotations, since in found
    ]


def judge_alerts(alerts: dict, now: str, critical: list[str], required: bool) -> dict:
    """The firing alerts with their age, or UNAVAILABLE naming why (no source configured, no answer): never
    "no alerts" when nobody was asked."""
    source, url, answer = alerts.get("source") or "", alerts.get("url") or "", alerts.get("answer") or {}
    if not source:
        return {
            "available": False,
            "text": f"{UNAVAILABLE}: no Alertmanager or Prometheus configured "
            "(monitor_alertmanager_url, monitor_prometheus_url)",
            "firing": [],
            "problem": "alerts: no Alertmanager or Prometheus configured" if required else "",
        }
    status = answer.get("status", -1)
    body = answer.get("json")
    if status != 200 or body is None:
        why = f"HTTP {status}" if status not in (-1, None) else (answer.get("msg") or "no answer").strip()
        return {
            "available": False,
            "text": f"{UNAVAILABLE}: {source} at {url} did not answer ({why})",
            "firing": [],
            "problem": f"alerts: {source} at {url} did not answer ({why})" if required else "",
        }
    current = parse.moment(now)
    firing = _alert_list(source, body)
    for alert in firing:
        alert["age"] = _duration((current - parse.moment(alert["since"])).total_seconds()) if alert["since"] else "?"
        alert["critical"] = alert["severity"] in critical
    firing.sort(key=lambda alert: (not alert["critical"], alert["name"]))
    names = [alert["name"] for alert in firing if alert["critical"]]
    return {
        "available": True,
        "text": f"{len(firing)} firing ({source} at {url})",
        "firing": firing,
        "problem": f"critical alert(s) firing: {', '.join(names)}" if names else "",
    }


def judge(raw: dict, settings: dict) -> dict:
    """Every service of the stack (one row per container; a service with no container is a row too), /api/health,
    the firing alerts; `problems` names each thing that is wrong, `log_targets` the containers whose logs to read.

    settings: services_hint (verify-style service names: the app's colours are variants), critical_severities,
    require_alerts, logs_all, health_entries, health_url."""
    expected, compose_error = expected_services(raw.get("compose") or {})
    units = parse.units(raw.get("containers") or [], raw["now"], settings.get("services_hint") or [])
    used = usage(raw.get("readings") or [])
    rows = [_row(unit, used.get(str(unit["pid"])) or {}, expected.get(unit["service"])) for unit in units]
    for service, replicas in sorted(expected.items()):
        if not any(row["service"] == service for row in rows):
            rows.append(
                {
                    "service": service,
                    "container": "-",
                    "id": "",
                    "state": "missing" if replicas else "scaled to 0",
                    "health": "-",
                    "restarts": "-",
                    "cpu": "-",
                    "memory": "-",
                    "uptime": "-",
                    "expected": bool(replicas),
                    "usage_error": "",
                    "problem": "no container" if replicas else "",
                }
            )
    rows.sort(key=lambda row: (row["service"], row["container"]))
    for row in rows:
        if not row["problem"] and row["state"] not in ("running", "scaled to 0") and expected:
            row["note"] = "scaled to 0" if row["service"] in expected else "not in the stack's compose file"
    problems = []
    if compose_error:
        problems.append(f"stack: {compose_error} in {raw.get('stack_dir', '?')}")
    if not rows:
        problems.append(f"stack: no container of compose project {raw.get('project', '?')}")
    by_name = {unit["name"]: unit for unit in units}
    inspected = {c.get("Name", "").lstrip("/"): c for c in raw.get("containers") or []}
    health_logs = {}
    for row in rows:
        if row["problem"]:
            problems.append(f"{row['service']}: {row['problem']}")
        unit = by_name.get(row["container"])
        if unit and (unit["health"] in ("unhealthy", "starting") or (row["problem"] and unit["health"] != "none")):
            health_logs[unit["name"]] = health_log(inspected[unit["name"]], settings.get("health_entries", 5))
    health = judge_health(raw.get("health") or {}, settings.get("health_url", "/api/health"))
    if not health["ok"]:
        problems.append(f"/api/health: {health['text']}")
    alerts = judge_alerts(
        raw.get("alerts") or {},
        raw["now"],
        settings.get("critical_severities") or ["critical"],
        bool(settings.get("require_alerts")),
    )
    if alerts["problem"]:
        problems.append(alerts["problem"])
    logs_all = bool(settings.get("logs_all"))
    targets = [
        {"id": row["id"], "name": row["container"], "service": row["service"]}
        for row in rows
        if row["id"] and (logs_all or row["problem"] or row["health"] not in ("healthy", "none"))
    ]
    return {
        "host": raw.get("host", ""),
        "project": raw.get("project", ""),
        "now": raw["now"],
        "rows": rows,
        "health": health,
        "alerts": alerts,
        "health_logs": health_logs,
        "usage_error": raw.get("usage_error") or "",
        "problems": problems,
        "log_targets": targets,
        "result": "problem" if problems else "ok",
    }


# --- Output -------------------------------------------------------------------------------------------------------
COLUMNS = [
    ("SERVICE", "service"),
    ("CONTAINER", "container"),
    ("STATE", "state"),
    ("HEALTH", "health"),
    ("RESTARTS", "restarts"),
    ("CPU %", "cpu"),
    ("MEMORY", "memory"),
    ("UP", "uptime"),
]


def table(rows: list[dict]) -> str:
    cells = [[title for title, _ in COLUMNS]] + [[str(row[key]) for _, key in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    for index, row in enumerate(rows, start=1):
        if row["problem"]:
            lines[index] += f"  <- {row['problem']}"
        elif row.get("note"):
            lines[index] += f"  ({row['note']})"
    return "\n".join(lines)


def _log_line(line: str) -> str:
    """A `docker logs --timestamps` line with its time to the second (2026-12-02T16:40:01.123456789Z ->
    2026-12-02 16:40:01Z)."""
    return re.sub(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)\.\d+Z ", r"\1 \2Z ", line)


def report(judged: dict, logs: dict | None = None) -> str:
    """What the monitor playbook prints for one host: the table, /api/health, the alerts, the last health checks of
    the containers that are not healthy, their log lines, and the verdict naming what is wrong."""
    lines = [f"monitor {judged['host']} (compose project {judged['project']}) at {judged['now'][:19]}Z", ""]
    lines.append(table(judged["rows"]))
    lines += ["", f"/api/health: {'OK' if judged['health']['ok'] else 'FAIL'}: {judged['health']['text']}"]
    alerts = judged["alerts"]
    lines.append(f"alerts: {alerts['text']}")
    for alert in alerts["firing"]:
        labels = " ".join(f"{k}={v}" for k, v in alert["labels"].items())
        kind = "CRITICAL" if alert["critical"] else alert["severity"] or "alert"
        summary = f": {alert['summary']}" if alert["summary"] else ""
        lines.append(f"  {kind}: {alert['name']} for {alert['age']}{summary}" + (f" [{labels}]" if labels else ""))
    if judged.get("usage_error"):
        lines.append(f"CPU/memory: {UNAVAILABLE} (the cgroups could not be read: {judged['usage_error']})")
    unmeasured = [row for row in judged["rows"] if row["usage_error"]]
    for row in unmeasured:
        lines.append(f"CPU/memory of {row['container']}: {UNAVAILABLE} ({row['usage_error']})")
    for name, entries in judged["health_logs"].items():
        lines += ["", f"--- last health checks of {name}:"]
        lines += [f"{e['start']} exit {e['exit_code']}: {e['output'] or '(no output)'}" for e in entries] or [
            "(none recorded)"
        ]
    for name, text in (logs or {}).items():
        lines += ["", f"--- last log lines of {name}:"]
        lines += [_log_line(line) for line in text] or ["(no log lines)"]
    lines.append("")
    if judged["problems"]:
        lines.append(f"RESULT: PROBLEM on {judged['host']}: " + "; ".join(judged["problems"]))
    else:
        lines.append(f"RESULT: OK on {judged['host']}: every service running and healthy, /api/health answers")
    return "\n".join(lines)
