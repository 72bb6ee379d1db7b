"""Prometheus rules from the SLO table (group_vars/all/slo.yml) and the monitoring settings.

`settings_errors(settings)` names every bad setting; `rules(settings)` returns the rule file as a dict
({"groups": [...]}) and `rules_yaml(settings)` as text. `settings` holds the slo_* and monitoring_* variables.

The SLO rules have the shape of Sloth's (github.com/slok/sloth) and of the Google SRE workbook's "multiwindow,
multi-burn-rate alerts": per SLO, the error ratio of its SLI over 5m, 30m, 1h, 2h, 6h, 1d and 3d and over the SLO
window; a page (severity critical) when 2 % of the window's error budget is spent in 1 h or 5 % in 6 h, and a
ticket (severity warning) when 10 % is spent in 1 d or in 3 d, each confirmed by a short window (1/12 of the long one)
so that the alert stops soon after the burning does. For a 30-day window the burn factors are 14.4, 6, 3 and 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlparse

import yaml

# The buckets of the app's latency histogram (app/src/webapp/metrics.py; tests/unit/monitoring checks that they
# agree): a latency objective can only be counted at a bucket boundary.
APP_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REQUESTS = "webapp_http_requests_total"
LATENCY = "webapp_http_request_duration_seconds"

# The SLI windows every SLO records from the raw counters; the SLO window itself comes from the 5-minute records.
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (alert suffix, severity, pairs of (long window, short window, share of the window's error budget spent in the long
# window)): the alert fires when either pair burns that fast over both of its windows.
BURN_ALERTS = (
    ("Fast", "critical", (("1h", "5m", Fraction(2, 100)), ("6h", "30m", Fraction(5, 100)))),
    ("Slow", "warning", (("1d", "2h", Fraction(10, 100)), ("3d", "6h", Fraction(10, 100)))),
)

# How long a condition must hold before its alert fires: long enough to ride out one failed scrape or a container
# restart that Docker repairs in seconds, short enough to stay well inside slo_mttr_minutes.
FOR_DOWN = "2m"
FOR_SATURATION = "15m"
FOR_DISK = "5m"
RESTART_WINDOW = "15m"

# Container state (health, running, restarts) as the container exporter of this role reports it on Docker hosts.
CONTAINER_STATE = {
    "healthy": "iac_container_healthy",
    "running": "iac_container_running",
    "restarts": "iac_container_restarts_total",
}
# Per-container CPU and memory under cAdvisor's names, which the kubelet serves too; "container" is the service.
CONTAINERS = 'container!="",container!="POD"'
# Filesystems that can fill up (not the kernel's pseudo filesystems).
REAL_FILESYSTEMS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*",mountpoint!~"/(proc|sys|run)(/.*)?"'

RECEIVERS = ("webhook", "email", "chat")
# The blackbox exporter's modules (templates/blackbox.yml.j2).
PROBE_MODULES = ("https_2xx", "http_2xx")
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_SECONDS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_SIZE = re.compile(r"^\d+(?:B|KB|MB|GB|TB|PB|EB)$")
_JOB = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")
_TARGET = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_DNS_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$")


class SettingsError(ValueError):
    """Raised by rules() for bad settings; the message names each of them."""


def seconds(duration: str) -> float:
    """A Prometheus duration (1h30m, 30d, 500ms) in seconds; ValueError if it is not one."""
    match = _DURATION.match(str(duration))
    if not duration or not match or not any(match.groups()):
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_SECONDS, strict=True) if n)


def _number(settings, name, errors, low=None, high=None, low_open=True, high_open=True):
    value = settings.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"{name}: must be a number, got {value!r}")
        return None
    if low is not None and (value <= low if low_open else value < low):
        errors.append(f"{name}: must be {'>' if low_open else '>='} {low}, got {value}")
    elif high is not None and (value >= high if high_open else value > high):
        errors.append(f"{name}: must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def _duration(settings, name, errors):
    try:
        return seconds(settings.get(name))
    except ValueError:
        errors.append(f"{name}: must be a Prometheus duration such as 15s, 1m or 30d, got {settings.get(name)!r}")
        return None


def _url(value):
    parsed = urlparse(str(value))
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def _check_target_list(where, targets, kind, errors):
    if not isinstance(targets, list) or not targets:
        errors.append(f"{where}.targets: must be a non-empty list, got {targets!r}")
        return
    for target in targets:
        if kind == "monitoring_probes" and not _url(target):
            errors.append(f"{where}.targets: {target!r} is not an http(s) URL")
        elif kind == "monitoring_scrape_targets" and not _TARGET.match(str(target)):
            errors.append(f"{where}.targets: {target!r} is not host:port")


def _check_dns(where, dns, errors):
    names = dns.get("names") if isinstance(dns, dict) else None
    port = dns.get("port") if isinstance(dns, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and _DNS_NAME.match(n) for n in names):
        errors.append(f"{where}.dns.names: must be a non-empty list of DNS names, got {names!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        errors.append(f"{where}.dns.port: must be a port number, got {port!r}")


def _check_targets(settings, errors):
    jobs = set()
    for kind in ("monitoring_scrape_targets", "monitoring_probes"):
        entries = settings.get(kind, [])
        if not isinstance(entries, list):
            errors.append(f"{kind}: must be a list, got {entries!r}")
            continue
        for index, entry in enumerate(entries):
            where = f"{kind}[{index}]"
            if not isinstance(entry, dict):
                errors.append(f"{where}: must be a mapping, got {entry!r}")
                continue
            job = entry.get("job")
            if not isinstance(job, str) or not _JOB.match(job):
                errors.append(f"{where}.job: must be a job name ([a-zA-Z_][a-zA-Z0-9_-]*), got {job!r}")
            elif job in jobs:
                errors.append(f"{where}.job: {job!r} is used twice")
            jobs.add(job)
            if kind == "monitoring_probes" and entry.get("module") not in PROBE_MODULES:
                errors.append(f"{where}.module: must be one of {', '.join(PROBE_MODULES)}, got {entry.get('module')!r}")
            if kind == "monitoring_scrape_targets" and ("targets" in entry) == ("dns" in entry):
                errors.append(f"{where}: needs either targets (host:port list) or dns (names and port), not both")
            elif "dns" in entry:
                _check_dns(where, entry["dns"], errors)
            else:
                _check_target_list(where, entry.get("targets"), kind, errors)
            labels = entry.get("labels", {})
            if not isinstance(labels, dict) or not all(_LABEL.match(str(label)) for label in labels):
                errors.append(f"{where}.labels: must map label names to values, got {labels!r}")
    app_job = settings.get("monitoring_app_job")
    if app_job not in jobs:
        errors.append(f"monitoring_app_job: {app_job!r} is not the job of any entry of monitoring_scrape_targets")
    probe_job = settings.get("monitoring_probe_job")
    probes = settings.get("monitoring_probes", [])
    probe_jobs = [entry.get("job") for entry in probes if isinstance(entry, dict)] if isinstance(probes, list) else []
    if probe_job not in probe_jobs:
        errors.append(f"monitoring_probe_job: {probe_job!r} is not the job of any entry of monitoring_probes")


def settings_errors(settings: dict) -> list[str]:
    """Every bad setting, each message starting with the setting's name; empty when all are good."""
    errors: list[str] = []
    availability = _number(settings, "slo_availability_percent", errors, 0, 100)
    for name in ("slo_latency_p95_ms", "slo_latency_p99_ms"):
        value = _number(settings, name, errors, 0)
        if value is not None and value > 0 and not any(abs(value / 1000 - b) < 1e-12 for b in APP_LATENCY_BUCKETS):
            bounds = ", ".join(f"{b * 1000:g}" for b in APP_LATENCY_BUCKETS)
            errors.append(f"{name}: {value} ms is not a bucket of the app's latency histogram ({bounds} ms)")
    for name in ("slo_cpu_percent", "slo_memory_percent"):
        _number(settings, name, errors, 0, 100, high_open=False)
    _number(settings, "slo_certificate_min_days", errors, 0, low_open=False)
    _number(settings, "monitoring_disk_free_percent", errors, 0, 100)
    window = settings.get("slo_window_days")
    if isinstance(window, bool) or not isinstance(window, int) or window < 3:
        errors.append(
            f"slo_window_days: must be a whole number of days >= 3 (the longest alert window), got {window!r}"
        )
        window = None
    scrape = _duration(settings, "monitoring_scrape_interval", errors)
    evaluation = _duration(settings, "monitoring_evaluation_interval", errors)
    retention = _duration(settings, "monitoring_retention_time", errors)
    if window and scrape and window * 86400 <= scrape:
        errors.append(f"slo_window_days: {window} d is not longer than monitoring_scrape_interval")
    if scrape and scrape > 300:
        errors.append(f"monitoring_scrape_interval: must be at most 5m (the shortest SLI window), got {scrape:g} s")
    if evaluation and evaluation > 300:
        errors.append(f"monitoring_evaluation_interval: must be at most 5m, got {evaluation:g} s")
    if window and retention is not None and retention < window * 86400:
        errors.append(
            f"monitoring_retention_time: {settings.get('monitoring_retention_time')} keeps less than the SLO window "
            f"(slo_window_days: {window})"
        )
    size = settings.get("monitoring_retention_size", "")
    if size and not _SIZE.match(str(size)):
        errors.append(f"monitoring_retention_size: must be empty or a size such as 512MB or 10GB, got {size!r}")
    receiver = settings.get("monitoring_alertmanager_receiver")
    if receiver not in RECEIVERS:
        errors.append(f"monitoring_alertmanager_receiver: must be one of {', '.join(RECEIVERS)}, got {receiver!r}")
    for name in ("monitoring_alertmanager_webhook_url", "monitoring_alertmanager_chat_webhook_url"):
        url = settings.get(name, "")
        if url and not _url(url):
            errors.append(f"{name}: must be empty or an http(s) URL, got {url!r}")
    if receiver == "email":
        for name in ("monitoring_alertmanager_email_to", "monitoring_alertmanager_email_from"):
            if "@" not in str(settings.get(name, "")):
                errors.append(f"{name}: must be an e-mail address when the receiver is email")
        if not _TARGET.match(str(settings.get("monitoring_alertmanager_email_smarthost", ""))):
            errors.append("monitoring_alertmanager_email_smarthost: must be host:port when the receiver is email")
    if receiver == "chat" and not settings.get("monitoring_alertmanager_chat_webhook_url"):
        errors.append("monitoring_alertmanager_chat_webhook_url: must be set when the receiver is chat")
    excluded = settings.get("monitoring_sli_excluded_routes")
    if not isinstance(excluded, list) or not all(isinstance(r, str) and r.startswith("/") for r in excluded):
        errors.append(f"monitoring_sli_excluded_routes: must be a list of routes such as /metrics, got {excluded!r}")
    _check_targets(settings, errors)
    if availability is not None and window and not errors:
        errors.extend(_unreachable_burns(settings, window))
    return errors


@dataclass(frozen=True)
class Slo:
    """One objective: `errors` and `total` are PromQL over [W] (replaced by the window), `setting` names its source."""

    name: str
    title: str
    objective: Fraction
    setting: str
    errors: str
    total: str
    meaning: str

    @property
    def budget(self) -> Fraction:
        return 1 - self.objective


def _fraction(value) -> Fraction:
    return Fraction(str(value))


def _sli_selector(settings) -> str:
    routes = "|".join(re.escape(route) for route in settings["monitoring_sli_excluded_routes"])
    selector = f'job="{settings["monitoring_app_job"]}"'
    return f'{selector},route!~"{routes}"' if routes else selector


def _le(seconds_: float) -> str:
    """A bucket bound as prometheus-client writes it (1.0, not 1)."""
    return f"{seconds_:.1f}" if float(seconds_).is_integer() else repr(float(seconds_))


def slos(settings: dict) -> list[Slo]:
    selector = _sli_selector(settings)
    total = f"sum(rate({REQUESTS}{{{selector}}}[W]))"
    found = [
        Slo(
            "availability",
            "Availability",
            _fraction(settings["slo_availability_percent"]) / 100,
            "slo_availability_percent",
            f'sum(rate({REQUESTS}{{{selector},status=~"5.."}}[W]))',
            total,
            f"{settings['slo_availability_percent']} % of the app's requests succeed (no 5xx)",
        )
    ]
    for percentile in (95, 99):
        setting = f"slo_latency_p{percentile}_ms"
        threshold = settings[setting] / 1000
        count = f"sum(rate({LATENCY}_count{{{selector}}}[W]))"
        fast = f'sum(rate({LATENCY}_bucket{{{selector},le="{_le(threshold)}"}}[W]))'
        found.append(
            Slo(
                f"latency-p{percentile}",
                f"LatencyP{percentile}",
                Fraction(percentile, 100),
                setting,
                f"({count} - {fast})",
                count,
                f"{percentile} % of the app's requests take at most {settings[setting]} ms",
            )
        )
    return found


def _burn_factor(window_days: int, long: str, share: Fraction) -> Fraction:
    return share * Fraction(window_days * 86400) / Fraction(int(seconds(long)))


def _unreachable_burns(settings, window) -> list[str]:
    """Alerts whose threshold is 100 % errors or more could never fire: name the objective that makes them so."""
    errors = []
    for slo in slos(settings):
        for _, _, pairs in BURN_ALERTS:
            for long, _, share in pairs:
                if _burn_factor(window, long, share) * slo.budget >= 1:
                    errors.append(
                        f"{slo.setting}: an error budget of {float(slo.budget) * 100:g} % over {window} d cannot "
                        f"burn {float(_burn_factor(window, long, share)):g}x as fast, so its {long} alert could "
                        "never fire; tighten the objective or lengthen slo_window_days"
                    )
    return errors


def _number_text(value) -> str:
    return f"{float(value):.10g}"


def _slo_groups(settings) -> list[dict]:
    window = settings["slo_window_days"]
    period = f"{window}d"
    groups = []
    for slo in slos(settings):
        labels = {"slo": slo.name}
        match = f'{{slo="{slo.name}"}}'
        records = [
            {"record": "slo:sli_errors:rate5m", "expr": slo.errors.replace("[W]", "[5m]"), "labels": labels},
            {"record": "slo:sli_requests:rate5m", "expr": slo.total.replace("[W]", "[5m]"), "labels": labels},
            {
                "record": "slo:sli_error:ratio_rate5m",
                "expr": f"slo:sli_errors:rate5m{match} / slo:sli_requests:rate5m{match}",
                "labels": labels,
            },
        ]
        for w in WINDOWS[1:]:
            records.append(
                {
                    "record": f"slo:sli_error:ratio_rate{w}",
                    "expr": f"{slo.errors.replace('[W]', f'[{w}]')}\n/\n{slo.total.replace('[W]', f'[{w}]')}",
                    "labels": labels,
                }
            )
        records += [
            {"record": "slo:objective:ratio", "expr": f"vector({_number_text(slo.objective)})", "labels": labels},
            {"record": "slo:error_budget:ratio", "expr": f"vector({_number_text(slo.budget)})", "labels": labels},
            {"record": "slo:time_period:days", "expr": f"vector({window})", "labels": labels},
            {
                "record": "slo:current_burn_rate:ratio",
                "expr": f"slo:sli_error:ratio_rate5m{match} / slo:error_budget:ratio{match}",
                "labels": labels,
            },
        ]
        groups.append({"name": f"slo-{slo.name}", "rules": records})
        # Over the SLO window, from the 5-minute rates: every request is counted about as often in the numerator as in
        # the denominator, so the ratio is the window's request-weighted error ratio, at a fraction of the cost of a
        # 30-day range over the raw series.
        groups.append(
            {
                "name": f"slo-{slo.name}-period",
                "interval": "5m",
                "rules": [
                    {
                        "record": f"slo:sli_error:ratio_rate{period}",
                        "expr": f"sum_over_time(slo:sli_errors:rate5m{match}[{period}])\n/\n"
                        f"sum_over_time(slo:sli_requests:rate5m{match}[{period}])",
                        "labels": labels,
                    },
                    {
                        "record": "slo:sli:ratio_period",
                        "expr": f"1 - slo:sli_error:ratio_rate{period}{match}",
                        "labels": labels,
                    },
                    {
                        "record": "slo:period_burn_rate:ratio",
                        "expr": f"slo:sli_error:ratio_rate{period}{match} / slo:error_budget:ratio{match}",
                        "labels": labels,
                    },
                    {
                        "record": "slo:period_error_budget_remaining:ratio",
                        "expr": f"1 - slo:period_burn_rate:ratio{match}",
                        "labels": labels,
                    },
                ],
            }
        )
    return groups


def _burn_alerts(settings) -> list[dict]:
    window = settings["slo_window_days"]
    alerts = []
    for slo in slos(settings):
        for suffix, severity, pairs in BURN_ALERTS:
            conditions, phrases = [], []
            for long, short, share in pairs:
                factor = _burn_factor(window, long, share)
                threshold = _number_text(factor * slo.budget)
                conditions.append(
                    f'(slo:sli_error:ratio_rate{long}{{slo="{slo.name}"}} > {threshold}\n'
                    f' and slo:sli_error:ratio_rate{short}{{slo="{slo.name}"}} > {threshold})'
                )
                phrases.append(
                    f"{float(share) * 100:g} % of the budget is spent within {long} (a burn rate of "
                    f"{_number_text(factor)}, error ratio above {float(factor * slo.budget) * 100:g} %)"
                )
            action = "Page: act now." if severity == "critical" else "Ticket: look into it today."
            alerts.append(
                {
                    "alert": f"{slo.title}BudgetBurn{suffix}",
                    "expr": "\n or\n".join(conditions),
                    "labels": {"severity": severity, "slo": slo.name},
                    "annotations": {
                        "summary": f"{slo.title} SLO: the error budget is burning too fast "
                        f"({{{{ $value | humanizePercentage }}}} of the requests fail it over the long window)",
                        "description": f"The objective ({slo.setting}) is that {slo.meaning} over {window} days; "
                        f"its error budget is {float(slo.budget) * 100:g} % of the requests. At this rate the "
                        f"budget runs out before the window ends: this alert fires when {' or '.join(phrases)}, "
                        f"over that window and over the last twelfth of it alike. {action}",
                    },
                }
            )
    return alerts


def _alert(name, expr, severity, slo, summary, description, for_=None, **labels) -> dict:
    rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, "slo": slo, **labels}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _service_records() -> list[dict]:
    cpu = f"sum without (cpu) (rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[5m]))"
    memory = f"container_memory_working_set_bytes{{{CONTAINERS}}}"
    return [
        {"record": "job:webapp_http_requests:rate5m", "expr": f"sum by (job) (rate({REQUESTS}[5m]))"},
        {
            "record": "job:webapp_http_errors:ratio_rate5m",
            "expr": f'sum by (job) (rate({REQUESTS}{{status=~"5.."}}[5m])) / sum by (job) (rate({REQUESTS}[5m]))',
        },
        *(
            {
                "record": f"job:{LATENCY}:p{p}_rate5m",
                "expr": f"histogram_quantile({p / 100}, sum by (job, le) (rate({LATENCY}_bucket[5m])))",
            }
            for p in (95, 99)
        ),
        {
            # A share of the container's CPU limit, or of the host's CPUs when it has none (as verify measures it).
            "record": "container:cpu_usage:ratio",
            "expr": f"({cpu} / (container_spec_cpu_quota{{{CONTAINERS}}} / container_spec_cpu_period{{{CONTAINERS}}}"
            f" > 0))\nor\n({cpu} / on(instance) group_left() machine_cpu_cores)",
        },
        {
            "record": "container:memory_usage:ratio",
            "expr": f"({memory} / (container_spec_memory_limit_bytes{{{CONTAINERS}}} > 0))\n"
            f"or\n({memory} / on(instance) group_left() machine_memory_bytes)",
        },
        {
            # Idle and iowait count as idle, as in verify's cpu_host check.
            "record": "instance:node_cpu_busy:ratio",
            "expr": '1 - avg by (instance) (sum by (instance, cpu) (rate(node_cpu_seconds_total{mode=~"idle|iowait"}'
            "[5m])))",
        },
        {
            "record": "instance:node_memory_used:ratio",
            "expr": "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        },
        {
            "record": "instance:node_filesystem_free:ratio",
            "expr": f"node_filesystem_avail_bytes{{{REAL_FILESYSTEMS}}} / node_filesystem_size_bytes"
            f"{{{REAL_FILESYSTEMS}}}",
        },
    ]


def _state_alerts(settings) -> list[dict]:
    cpu, memory = settings["slo_cpu_percent"], settings["slo_memory_percent"]
    days = settings["slo_certificate_min_days"]
    disk = settings["monitoring_disk_free_percent"]
    return [
        _alert(
            "TargetDown",
            "up == 0",
            "critical",
            "availability",
            "{{ $labels.job }} target {{ $labels.instance }} is down",
            f"Prometheus has not been able to scrape {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) for "
            f"{FOR_DOWN}: the service or its exporter is not answering, and what it measures is not being measured.",
            FOR_DOWN,
        ),
        _alert(
            "EndpointDown",
            "probe_success == 0",
            "critical",
            "availability",
            "{{ $labels.instance }} fails its probe",
            f"The blackbox probe of {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) has failed for {FOR_DOWN}: "
            "users get an error, a wrong status or an untrusted certificate there.",
            FOR_DOWN,
        ),
        *(
            _alert(
                "ServiceDown",
                f"{metric} == 0",
                "critical",
                "availability",
                f"{service} is down (its exporter cannot reach it)",
                f"The {service} exporter on {{{{ $labels.instance }}}} has not reached {service} for {FOR_DOWN} "
                f"({metric} == 0): {consequence}",
                FOR_DOWN,
                service=service.lower(),
            )
            for metric, service, consequence in (
                ("pg_up", "PostgreSQL", "the app cannot read or write items."),
                ("redis_up", "Redis", "the app's readiness check fails and its cache is gone."),
                ("nginx_up", "Nginx", "nothing reaches the app from outside."),
            )
        ),
        _alert(
            "ContainerUnhealthy",
            f"{CONTAINER_STATE['healthy']} == 0",
            "critical",
            "availability",
            "container {{ $labels.name }} is unhealthy",
            f"The health check of {{{{ $labels.name }}}} (service {{{{ $labels.container }}}}) has not passed for "
            f"{FOR_DOWN}; `docker inspect {{{{ $labels.name }}}}` shows the output of its last checks (State.Health).",
            FOR_DOWN,
        ),
        _alert(
            "ContainerNotRunning",
            f"{CONTAINER_STATE['running']} == 0",
            "critical",
            "availability",
            "container {{ $labels.name }} is not running",
            f"{{{{ $labels.name }}}} (service {{{{ $labels.container }}}}) has been exited or restarting for "
            f"{FOR_DOWN}; the repair time objective (slo_mttr_minutes) is {settings['slo_mttr_minutes']} min.",
            FOR_DOWN,
        ),
        _alert(
            "ContainerRestarting",
            f"increase({CONTAINER_STATE['restarts']}[{RESTART_WINDOW}]) > 0",
            "warning",
            "mtbf",
            "container {{ $labels.name }} restarted",
            f"{{{{ $labels.name }}}} (service {{{{ $labels.container }}}}) failed and was restarted by its restart "
            f"policy in the last {RESTART_WINDOW} ({{{{ $value | humanize }}}} times). Each failure counts against "
            f"the time between failures objective (slo_mtbf_hours: {settings['slo_mtbf_hours']} h); read its logs.",
        ),
        _alert(
            "CertificateExpiresSoon",
            f"(probe_ssl_earliest_cert_expiry - time()) / 86400 < {days}",
            "warning",
            "certificate",
            "the certificate of {{ $labels.instance }} expires in {{ $value | humanize }} days",
            f"The certificate served at {{{{ $labels.instance }}}} must stay valid for at least {days} more days "
            "(slo_certificate_min_days); a deploy renews the stack's own certificate, any other must be renewed "
            "by hand.",
        ),
        _alert(
            "DiskFull",
            f"instance:node_filesystem_free:ratio < {_number_text(Fraction(str(disk)) / 100)}",
            "critical",
            "availability",
            "{{ $labels.mountpoint }} on {{ $labels.instance }} is almost full",
            f"Less than {disk} % of {{{{ $labels.mountpoint }}}} ({{{{ $labels.device }}}}) is free "
            "(monitoring_disk_free_percent): PostgreSQL, Redis and Prometheus stop writing when it is full.",
            FOR_DISK,
        ),
        _alert(
            "ContainerCPUHigh",
            f"container:cpu_usage:ratio > {_number_text(Fraction(str(cpu)) / 100)}",
            "warning",
            "cpu",
            "container {{ $labels.name }} uses {{ $value | humanizePercentage }} of its CPU",
            f"{{{{ $labels.name }}}} (service {{{{ $labels.container }}}}) has used more than {cpu} % of its CPU "
            f"limit (of the host's CPUs when it has none) for {FOR_SATURATION} (slo_cpu_percent).",
            FOR_SATURATION,
        ),
        _alert(
            "ContainerMemoryHigh",
            f"container:memory_usage:ratio > {_number_text(Fraction(str(memory)) / 100)}",
            "warning",
            "memory",
            "container {{ $labels.name }} uses {{ $value | humanizePercentage }} of its memory",
            f"{{{{ $labels.name }}}} (service {{{{ $labels.container }}}}) has used more than {memory} % of its "
            f"memory limit (of the host's memory when it has none) for {FOR_SATURATION} (slo_memory_percent).",
            FOR_SATURATION,
        ),
        _alert(
            "HostCPUHigh",
            f"instance:node_cpu_busy:ratio > {_number_text(Fraction(str(cpu)) / 100)}",
            "warning",
            "cpu",
            "{{ $labels.instance }} is {{ $value | humanizePercentage }} busy",
            f"The host's CPUs have been more than {cpu} % busy for {FOR_SATURATION} (slo_cpu_percent).",
            FOR_SATURATION,
        ),
        _alert(
            "HostMemoryHigh",
            f"instance:node_memory_used:ratio > {_number_text(Fraction(str(memory)) / 100)}",
            "warning",
            "memory",
            "{{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory",
            f"More than {memory} % of the host's memory has been in use for {FOR_SATURATION} (slo_memory_percent).",
            FOR_SATURATION,
        ),
        _alert(
            "AlertDeliveryFailing",
            "increase(alertmanager_notification_requests_failed_total[10m]) > 0",
            "warning",
            "availability",
            "Alertmanager fails to deliver alerts to {{ $labels.integration }}",
            "Alertmanager's requests to {{ $labels.integration }} have failed in the last 10 minutes (it keeps "
            "retrying): the receiver (monitoring_alertmanager_receiver) refuses them or cannot be reached, so nobody "
            "is told.",
        ),
    ]


def rules(settings: dict) -> dict:
    """The rule file: SLO recording rules, burn-rate alerts, service records and state alerts."""
    errors = settings_errors(settings)
    if errors:
        raise SettingsError("; ".join(errors))
    return {
        "groups": [
            *_slo_groups(settings),
            {"name": "slo-alerts", "rules": _burn_alerts(settings)},
            {"name": "service", "rules": _service_records()},
            {"name": "state-alerts", "rules": _state_alerts(settings)},
        ]
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line expressions as literal blocks and no YAML aliases, so the rule file reads like a hand-written one."""

    def ignore_aliases(self, data):
        return True


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def rules_yaml(settings: dict) -> str:
    header = (
        "# Generated by the monitoring role from group_vars/all/slo.yml and the monitoring_* settings: do not edit.\n"
    )
    return header + yaml.dump(rules(settings), Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def alert_names(settings: dict) -> list[str]:
    """Every alert the rules define, once each (for tests and the monitor playbook)."""
    names = []
    for group in rules(settings)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule and rule["alert"] not in names:
                names.append(rule["alert"])
    return names
