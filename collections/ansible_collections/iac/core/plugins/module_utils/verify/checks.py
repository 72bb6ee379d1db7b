"""verify's checks: from the raw outputs the role collected (one dict, `raw`) and its settings (`settings`: the
verify_* and slo_* variables by name) to a list of checks, each judged against its threshold.

A check is a dict with one schema: name, category, value, unit, op, threshold, setting (the variable the threshold
comes from), status and detail; display/expected say how value/threshold are shown when that differs. A status
set while building (error, unavailable, skipped) is kept; otherwise value, op and threshold decide pass or fail.
A value that was not measured is never a pass: no value is an error, unless the builder said why it is unavailable.
"""

from __future__ import annotations

import json
import operator

from .. import apt
from . import history, parse

STATUSES = ("pass", "fail", "error", "unavailable", "skipped")
CATEGORIES = ("connectivity", "tls", "performance", "security", "availability", "patches", "audit")
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def check(category, name, value, op, threshold, setting, unit="", status="", detail="", **extra):
    return {
        "category": category,
        "name": f"{category}.{name}",
        "value": value,
        "unit": unit,
        "op": op,
        "threshold": threshold,
        "setting": setting,
        "status": status,
        "detail": detail,
        **extra,
    }


def _result(result) -> tuple[str | None, str]:
    """A command's registered result: (stdout, "") when it ran and exited 0, else (None, why)."""
    if not result:
        return None, "not collected"
    if result.get("skipped"):
        return None, result.get("skip_reason") or "skipped"
    if result.get("rc", 1) != 0:
        why = (result.get("stderr") or result.get("msg") or result.get("stdout") or "").strip()
        return None, f"exit {result.get('rc', '?')}: {why[-300:] or 'no output'}"
    return result.get("stdout", ""), ""


def _parsed(result, parser, *args, empty=None):
    """A command's registered result, parsed: (value, "") or (empty, why) when it did not run cleanly or its output
    does not parse (the parser's ParseError says why)."""
    stdout, why = _result(result)
    if stdout is None:
        return empty, why
    try:
        return parser(stdout, *args), ""
    except parse.ParseError as exc:
        return empty, str(exc)


def _status_of(result) -> str:
    """skipped in check mode when the tool is not installed yet, else empty (the value decides)."""
    return "skipped" if result and result.get("skipped") else ""


# --- connectivity -------------------------------------------------------------------------------------------------
def connectivity(raw, settings) -> list[dict]:
    section = raw["connectivity"]
    out = []
    # A TCP connection from the host, not a listening socket: without Docker's userland proxy a published port is
    # a NAT rule that no process on the host listens on.
    probes = {int(r["item"]): r for r in section.get("ports") or [] if "item" in r}
    for port in map(int, settings["verify_host_ports"]):
        result = probes.get(port)
        if not result or result.get("skipped"):
            out.append(
                check(
                    "connectivity",
                    f"host_port_{port}",
                    None,
                    "==",
                    True,
                    "verify_host_ports",
                    status="error",
                    detail="not probed" if not result else result.get("skip_reason") or "skipped",
                )
            )
            continue
        # wait_for returns its state only when it connected; the task's failed_when false clears "failed".
        opened = result.get("state") == "started"
        out.append(
            check(
                "connectivity",
                f"host_port_{port}",
                opened,
                "==",
                True,
                "verify_host_ports",
                display=f"{settings['verify_connect_address']}:{port} " + ("accepts" if opened else "refused"),
                expected="accepts a TCP connection",
                detail="" if opened else (result.get("msg") or "")[-300:],
            )
        )
    probe = section.get("netprobe")
    answer, why = {}, ""
    if not probe:
        why = f"the probe container (service {settings['verify_probe_service']}) is not running"
    else:
        stdout, why = _result(probe)
        if stdout is not None:
            try:
                answer = json.loads(stdout)
            except ValueError:
                why = f"the probe printed no JSON: {stdout[-200:]!r}"
    subnet = settings["app_network_subnet"]
    for name in settings["verify_dns_names"]:
        entry = (answer.get("names") or {}).get(name)
        if entry is None:
            out.append(
                check(
                    "connectivity",
                    f"dns_{name}",
                    None,
                    "==",
                    True,
                    "verify_dns_names",
                    status="error",
                    detail=why or "not probed",
                    expected=f"resolves in {subnet}",
                )
            )
            continue
        out.append(
            check(
                "connectivity",
                f"dns_{name}",
                entry["in_subnet"],
                "==",
                True,
                "verify_dns_names",
                display=entry["addresses"] or entry["error"],
                expected=f"resolves in {subnet}",
            )
        )
    for target in settings["verify_network_ports"]:
        entry = (answer.get("ports") or {}).get(target)
        if entry is None:
            out.append(
                check(
                    "connectivity",
                    f"network_port_{target}",
                    None,
                    "==",
                    True,
                    "verify_network_ports",
                    status="error",
                    detail=why or "not probed",
                )
            )
            continue
        out.append(
            check(
                "connectivity",
                f"network_port_{target}",
                entry["open"],
                "==",
                True,
                "verify_network_ports",
                display="open" if entry["open"] else entry["error"],
                expected=f"open inside {settings['app_network_name']}",
            )
        )
    for answer_ in section.get("http") or []:
        status, wanted = answer_.get("status", -1), answer_["item"]
        out.append(
            check(
                "connectivity",
                f"https_{wanted['path']}",
                status if status != -1 else None,
                "==",
                wanted.get("status", 200),
                "verify_http_checks",
                detail="" if status != -1 else (answer_.get("msg") or "no answer")[:200],
            )
        )
    redirect = section.get("redirect")
    if redirect is not None:
        status, location = redirect.get("status", -1), redirect.get("location") or ""
        wanted = settings["verify_http_redirect_status"]
        out.append(
            check(
                "connectivity",
                "http_redirect",
                (status == wanted and location.startswith("https://")) if status != -1 else None,
                "==",
                True,
                "verify_http_redirect_status",
                display=f"{status} {location}".strip(),
                expected=f"{wanted} to https://",
                detail="" if status != -1 else (redirect.get("msg") or "no answer")[:200],
            )
        )
    return out


# --- TLS ----------------------------------------------------------------------------------------------------------
def tls(raw, settings) -> list[dict]:
    section = raw["tls"]
    allowed = settings["slo_tls_protocols"]
    out = []
    probes = section.get("probes") or {}
    default = probes.get("default")
    if default is None or default.get("skipped"):
        status, why = ("skipped", "openssl is not installed (check mode)") if default else ("error", "not probed")
        out.append(check("tls", "handshake", None, "in", allowed, "slo_tls_protocols", status=status, detail=why))
        out.append(
            check("tls", "protocols_accepted", None, "subset", allowed, "slo_tls_protocols", status=status, detail=why)
        )
    else:
        session = parse.s_client_brief(default.get("stdout", ""), default.get("stderr", ""))
        out.append(
            check(
                "tls",
                "handshake",
                session["protocol"],
                "in",
                allowed,
                "slo_tls_protocols",
                display=f"{session['protocol']} {session['cipher']}" if session["protocol"] else None,
                detail=session["error"] and f"no TLS handshake: {session['error']}",
            )
        )
        accepted, refused = [], []
        for protocol in settings["verify_tls_probe_protocols"]:
            probe = probes.get(protocol) or {}
            result = parse.s_client_brief(probe.get("stdout", ""), probe.get("stderr", ""))
            (accepted if probe.get("rc") == 0 and result["protocol"] == protocol else refused).append(protocol)
        out.append(
            check(
                "tls",
                "protocols_accepted",
                accepted if session["protocol"] else None,
                "subset",
                allowed,
                "slo_tls_protocols",
                detail=f"offered alone at SECLEVEL=0; refused: {', '.join(refused) or 'none'}"
                if session["protocol"]
                else f"no TLS handshake: {session['error']}",
            )
        )
    served, info = section.get("served") or {}, section.get("info") or {}
    why, status = "", ""
    if not served or served.get("skipped"):
        why, status = ("skipped", "skipped") if served else ("not collected", "error")
    elif "cert" not in served:
        why, status = f"no certificate from the server: {served.get('msg', 'no answer')}"[:300], "error"
    elif "not_after" not in info:
        why, status = f"cannot read the certificate: {info.get('msg', 'not read')}"[:300], "error"
    trusted = section.get("trusted") or {}
    ca = section.get("ca_file") or "the host trust store"
    if status:
        for name, op, threshold, setting in (
            ("certificate_trusted", "==", True, "verify_tls_ca_file"),
            ("certificate_valid_now", "==", True, "-"),
            ("certificate_days_left", ">=", settings["slo_certificate_min_days"], "slo_certificate_min_days"),
            ("certificate_name", "==", True, "verify_server_name"),
        ):
            out.append(check("tls", name, None, op, threshold, setting, status=status, detail=why))
        return out
    now = parse.moment(raw["now"])
    not_before, not_after = parse.moment(info["not_before"]), parse.moment(info["not_after"])
    days_left = round((not_after - now).total_seconds() / 86400, 2)
    names = parse.certificate_names(info.get("subject_alt_name"), info.get("subject"))
    # get_certificate with ca_cert returns the certificate only when the chain verifies against the CA.
    out.append(
        check(
            "tls",
            "certificate_trusted",
            "cert" in trusted if trusted else None,
            "==",
            True,
            "verify_tls_ca_file",
            expected=f"chains to {ca}",
            detail="" if "cert" in trusted else (trusted.get("msg") or "not checked")[:300],
        )
    )
    out.append(
        check(
            "tls",
            "certificate_valid_now",
            not_before <= now < not_after,
            "==",
            True,
            "-",
            display=f"{not_before.isoformat()} .. {not_after.isoformat()}",
            expected="valid now",
        )
    )
    out.append(
        check(
            "tls",
            "certificate_days_left",
            days_left,
            ">=",
            settings["slo_certificate_min_days"],
            "slo_certificate_min_days",
            unit="days",
        )
    )
    server_name = settings["verify_server_name"]
    out.append(
        check(
            "tls",
            "certificate_name",
            parse.name_matches(names, server_name),
            "==",
            True,
            "verify_server_name",
            display=names,
            expected=f"valid for {server_name}",
        )
    )
    return out


# --- performance --------------------------------------------------------------------------------------------------
def _rusage(runs) -> list[dict]:
    """rusage.py's VERIFY_RUSAGE record of each run."""
    return [
        json.loads(line.split(" ", 1)[1])
        for run in runs
        for line in (run.get("stdout") or "").splitlines()
        if line.startswith("VERIFY_RUSAGE ")
    ]


def _host_cpu(phase_data) -> tuple[list[int], float, dict[str, int]]:
    """The host's CPU counters over the phase's load runs, the load tool's CPU seconds and the ticks of the busiest
    processes by command name. The counters rusage.py read right around each run, summed, when every run has them;
    else the readings of the tasks around the runs (which count the start-up of those tasks too)."""
    records = _rusage(phase_data.get("runs") or [])
    # The load tool's CPU, and that of the processes that started it (/proc ticks are 1/100 s): the measurement's own.
    tool = sum(record["cpu_seconds"] + record.get("harness_ticks", 0) / 100 for record in records)
    busiest: dict[str, int] = {}
    for record in records:
        for name, ticks in record.get("busiest") or []:
            busiest[name] = busiest.get(name, 0) + ticks
    if records and all(len(record.get("host_stat") or []) == 2 for record in records):
        readings = [[parse.cpu_counters(line) for line in record["host_stat"]] for record in records]
        return [sum(after[i] - before[i] for before, after in readings) for i in range(8)], tool, busiest
    before, after = (parse.cpu_counters(phase_data.get(k) or "") for k in ("stat_before", "stat_after"))
    return [b - a for a, b in zip(before, after, strict=True)], tool, busiest


def _busiest_text(busiest: dict[str, int], total_ticks: int, steal: int) -> str:
    """Where the busy time went, in percent of all CPUs: the busiest command names (the load tool left out) and the
    time the hypervisor gave to other machines (steal), which /proc/stat counts as busy."""
    if total_ticks <= 0:
        return ""
    top = sorted(busiest.items(), key=lambda item: -item[1])[:6]
    parts = [f"{name} {100 * ticks / total_ticks:.1f} %" for name, ticks in top]
    return f"; busiest: {', '.join(parts) or 'none read'}; steal {100 * steal / total_ticks:.1f} %"


def _resources(raw, phase_data, settings, phase, units) -> list[dict]:
    """CPU and memory of the host and of each running container, sampled while the phase's load runs ran (the
    resources phase: a load held at verify_resource_rps, the traffic the throughput SLO promises)."""
    prefix = "" if phase == "resources" else f"{phase}_"
    cpus = int(raw["host"]["cpus"])
    window = phase_data.get("window")
    out = []
    try:
        delta, tool, busiest = _host_cpu(phase_data)
        busy = parse.busy_percent(delta)
        memory = parse.meminfo(phase_data.get("meminfo") or "")
    except (parse.ParseError, KeyError) as exc:
        for kind in ("cpu", "memory"):
            out.append(
                check(
                    "performance",
                    f"{prefix}{kind}_host",
                    None,
                    "<",
                    settings[f"slo_{kind}_percent"],
                    f"slo_{kind}_percent",
                    unit="%",
                    status="error",
                    detail=str(exc),
                )
            )
    else:
        # /proc/stat counts USER_HZ ticks (100 a second) over all CPUs.
        elapsed = sum(delta) / 100 / cpus
        tool_share = round(min(100.0, 100 * tool / (elapsed * cpus)), 1) if elapsed > 0 else 0.0
        out.append(
            check(
                "performance",
                f"{prefix}cpu_host",
                round(max(busy - tool_share, 0.0), 1),
                "<",
                settings["slo_cpu_percent"],
                "slo_cpu_percent",
                unit="%",
                detail=f"{cpus} CPUs over {elapsed:.1f} s of {phase} runs: {busy} % busy, of which the "
                f"load tool and the processes that started it {tool_share} % (left out: the measurement's own; in "
                "production the load comes from elsewhere and Ansible runs on the control node)"
                + _busiest_text(busiest, sum(delta), delta[7]),
            )
        )
        used = round(100 * (1 - memory["MemAvailable"] / memory["MemTotal"]), 1)
        out.append(
            check(
                "performance",
                f"{prefix}memory_host",
                used,
                "<",
                settings["slo_memory_percent"],
                "slo_memory_percent",
                unit="%",
                detail=f"MemAvailable {memory['MemAvailable'] // 1024} MiB of {memory['MemTotal'] // 1024} MiB "
                f"at the end of the {phase} runs",
            )
        )
    readings = [phase_data.get("cgroups_before") or {}, phase_data.get("cgroups_after") or {}]
    outputs = [_result(reading) for reading in readings]
    why = next((reason for output, reason in outputs if output is None), "")
    usage = {}
    if not why:
        try:
            usage = parse.cgroup_usage(outputs[0][0], outputs[1][0])
        except (ValueError, KeyError, TypeError) as exc:
            why = f"cannot read the cgroup readings: {exc}"
    for unit in units:
        if not unit["running"]:
            continue
        sample = usage.get(str(unit.get("pid")), {"error": why or "no cgroup reading of this container"})
        limit = unit["cpu_limit"] or float(cpus)
        base = "its limit" if unit["cpu_limit"] else "the host"
        if sample.get("error") or sample.get("cpu") is None:
            for kind in ("cpu", "memory"):
                out.append(
                    check(
                        "performance",
                        f"{prefix}{kind}_{unit['label']}",
                        None,
                        "<",
                        settings[f"slo_{kind}_percent"],
                        f"slo_{kind}_percent",
                        unit="%",
                        status="error",
                        detail=f"not measured: {sample.get('error') or 'no CPU time between the readings'}",
                    )
                )
            continue
        memory_of = sample["memory_limit"] or memory["MemTotal"] * 1024
        out.append(
            check(
                "performance",
                f"{prefix}cpu_{unit['label']}",
                round(sample["cpu"] / limit, 1),
                "<",
                settings["slo_cpu_percent"],
                "slo_cpu_percent",
                unit="%",
                detail=f"CPU time of its cgroup over the {window} s of {phase} runs, of {limit:g} CPUs ({base})",
            )
        )
        out.append(
            check(
                "performance",
                f"{prefix}memory_{unit['label']}",
                round(100 * sample["memory_bytes"] / memory_of, 1),
                "<",
                settings["slo_memory_percent"],
                "slo_memory_percent",
                unit="%",
                detail=f"at the end of the {phase} runs: {sample['memory_bytes'] // 2**20} MiB of "
                f"{memory_of // 2**20} MiB"
                + (" (its limit)" if sample["memory_limit"] else " (no limit: of the host)"),
            )
        )
    return out


def _load(runs, settings, phase) -> tuple[list[dict], list[dict]]:
    """Throughput, p95/p99 and request success of each load run; also the runs' latency distributions."""
    prefix = "" if phase == "load" else f"{phase}_"
    tool = settings["verify_load_tool"]
    out, distributions = [], []
    for run in runs:
        target = run["item"]
        measured, why = _parsed(run, parse.load_run, tool, empty={})
        status = _status_of(run)
        if measured:
            distributions.append({"phase": phase, "target": target, "tool": tool, **measured})
        if not measured and not status:
            status = "error"
        basis = (
            (
                f"{measured['requests']} requests in {measured['seconds']} s, "
                f"{settings['verify_load_connections']} connections, {tool}"
            )
            if measured
            else why
        )
        out.append(
            check(
                "performance",
                f"{prefix}throughput_{target}",
                measured.get("rps"),
                ">",
                settings["slo_throughput_rps"],
                "slo_throughput_rps",
                unit="req/s",
                status=status,
                detail=basis,
            )
        )
        for p in ("95", "99"):
            out.append(
                check(
                    "performance",
                    f"{prefix}latency_p{p}_{target}",
                    measured.get(f"p{p}_ms"),
                    "<",
                    settings[f"slo_latency_p{p}_ms"],
                    f"slo_latency_p{p}_ms",
                    unit="ms",
                    status=status,
                    detail=basis,
                )
            )
        out.append(
            check(
                "availability",
                f"{prefix}request_success_{target}",
                measured.get("success_percent"),
                ">",
                settings["slo_availability_percent"],
                "slo_availability_percent",
                unit="%",
                status=status,
                detail=(f"{measured['failed']} of {measured['attempts']} requests failed ({measured['failures']})")
                if measured
                else why,
            )
        )
    return out, distributions


def _offered_rate(phase_data, settings) -> list[dict]:
    """Whether the resources phase really offered verify_resource_rps: CPU at a lower rate says nothing about it."""
    out = []
    for run in phase_data.get("runs") or []:
        measured, why = _parsed(run, parse.load_run, settings["verify_load_tool"], empty={})
        wanted = float(settings["verify_resource_rps"])
        out.append(
            check(
                "performance",
                f"resource_load_rate_{run['item']}",
                measured.get("rps"),
                ">=",
                round(0.9 * wanted, 1),
                "verify_resource_rps",
                unit="req/s",
                status=_status_of(run),
                expected=f">= 90 % of {wanted:g} req/s",
                detail=f"CPU and memory were sampled while this rate was offered for {phase_data.get('window')} s"
                if measured
                else why,
            )
        )
    return out


def performance(raw, settings, units) -> tuple[list[dict], list[dict]]:
    section = raw["performance"]
    load = section.get("load") or {}
    out, distributions = _load(load.get("runs") or [], settings, "load")
    resources = section.get("resources") or {}
    out += _offered_rate(resources, settings) + _resources(raw, resources, settings, "resources", units)
    stress = section.get("stress")
    if stress:
        stdout, why = _result(stress.get("stress_ng"))
        out.append(
            check(
                "performance",
                "stress_completed",
                stdout is not None or None,
                "==",
                True,
                "verify_stress_workers, verify_stress_seconds",
                status=_status_of(stress.get("stress_ng")),
                detail=f"stress-ng --cpu {settings['verify_stress_workers']} for "
                f"{settings['verify_stress_seconds']} s" + (f": {why}" if why else ""),
            )
        )
        # Under stress-ng the CPUs are busy by design: the phase judges what clients see (latency, errors).
        more, stressed = _load(stress.get("runs") or [], settings, "stress")
        out += more
        distributions += stressed
    return out, distributions


# --- security -----------------------------------------------------------------------------------------------------
def security(raw, settings) -> list[dict]:
    section = raw["security"]
    out = []
    k8s = section.get("k8s_node", False)
    allowed_tcp = sorted(
        {
            int(p)
            for p in settings["verify_allowed_tcp_ports"]
            + settings["verify_allowed_tcp_ports_extra"]
            + (settings["verify_k8s_tcp_ports"] if k8s else [])
        }
    )
    allowed_udp = sorted(
        {int(p) for p in settings["verify_allowed_udp_ports"] + (settings["verify_k8s_udp_ports"] if k8s else [])}
    )
    sockets, why = _parsed(section.get("ss"), parse.listeners)
    expected = f"only {','.join(map(str, allowed_tcp))}/tcp, {','.join(map(str, allowed_udp))}/udp"
    setting = "verify_allowed_tcp_ports, verify_allowed_tcp_ports_extra, verify_allowed_udp_ports"
    if sockets is None:
        out.append(
            check(
                "security",
                "listening_sockets",
                None,
                "==",
                [],
                setting,
                expected=expected,
                status=_status_of(section.get("ss")) or "error",
                detail=why,
            )
        )
    else:
        exposed = sorted(
            {
                entry["text"]
                for entry in sockets
                if not entry["loopback"]
                and entry["port"] not in (allowed_tcp if entry["protocol"] == "tcp" else allowed_udp)
            }
        )
        out.append(
            check(
                "security",
                "listening_sockets",
                exposed,
                "==",
                [],
                setting,
                expected=expected,
                detail="non-loopback listening sockets outside the allowed set"
                + (" (Kubernetes node: its ports are allowed)" if k8s else ""),
            )
        )
    allowed = {int(p) for p in settings["verify_allowed_published_ports"]}
    published = sorted(
        {p["text"] for p in parse.published_ports(section.get("containers") or []) if p["port"] not in allowed}
    )
    out.append(
        check(
            "security",
            "published_ports",
            published,
            "==",
            [],
            "verify_allowed_published_ports",
            expected=f"only {','.join(map(str, sorted(allowed)))}",
            detail="container ports published on the host outside the allowed set",
        )
    )
    if "trivy" in raw:
        out += trivy(raw["trivy"], settings)
    if "pip_audit" in raw:
        out += pip_audit(raw["pip_audit"], settings)
    return out


def _gated_misconfigs(scan, severities):
    return sum(scan["misconfigurations"][s] for s in severities), sorted(
        {f"{i}[{s}]" for s, i in scan["found"]["misconfigurations"] if s in severities}
    )


def trivy(section, settings) -> list[dict]:
    out = []
    severities = settings["slo_misconfig_severities"]
    db = section.get("db")
    db_note = (
        f"DB of {db.get('UpdatedAt', '?')}"
        if db
        else "vulnerability DB unavailable" + (f": {section['db_error']}" if section.get("db_error") else "")
    )
    for run in section.get("images") or []:
        service, image = run["item"]["label"], run["item"]["image"]
        scan, why = _parsed(run, parse.trivy)
        status = _status_of(run)
        if scan is None and not status:
            status = "error"
        if scan and not db:
            out.append(
                check(
                    "security",
                    f"image_vulnerabilities_{service}",
                    None,
                    "<=",
                    settings["slo_critical_vulnerabilities"],
                    "slo_critical_vulnerabilities",
                    unit="critical",
                    status="unavailable",
                    detail=db_note,
                    image=image,
                )
            )
        else:
            critical = sorted({i for s, i in scan["found"]["vulnerabilities"] if s == "CRITICAL"}) if scan else []
            out.append(
                check(
                    "security",
                    f"image_vulnerabilities_{service}",
                    scan["vulnerabilities"]["CRITICAL"] if scan else None,
                    "<=",
                    settings["slo_critical_vulnerabilities"],
                    "slo_critical_vulnerabilities",
                    unit="critical",
                    status=status,
                    image=image,
                    detail=why
                    or f"{scan['vulnerabilities']['HIGH']} high; {db_note}"
                    + (f": {'; '.join(critical[:10])}" if critical else ""),
                )
            )
        secrets = sorted({i for _, i in scan["found"]["secrets"]}) if scan else []
        out.append(
            check(
                "security",
                f"image_secrets_{service}",
                len(scan["found"]["secrets"]) if scan else None,
                "<=",
                settings["slo_secrets"],
                "slo_secrets",
                unit="secrets",
                status=status,
                image=image,
                detail=why or " ".join(secrets[:10]),
            )
        )
        count, ids = _gated_misconfigs(scan, severities) if scan else (None, [])
        out.append(
            check(
                "security",
                f"image_misconfig_{service}",
                count,
                "<=",
                settings["slo_misconfigurations"],
                "slo_misconfigurations, slo_misconfig_severities",
                unit="findings",
                status=status,
                image=image,
                detail=why or f"{'/'.join(severities)} {' '.join(ids[:10])}".strip(),
            )
        )
    for run in section.get("config") or []:
        path = run["item"]
        scan, why = _parsed(run, parse.trivy)
        status = _status_of(run)
        if scan is None and not status:
            status = "error"
        count, ids = _gated_misconfigs(scan, severities) if scan else (None, [])
        out.append(
            check(
                "security",
                f"config_misconfig_{path.rstrip('/').rsplit('/', 1)[-1]}",
                count,
                "<=",
                settings["slo_misconfigurations"],
                "slo_misconfigurations, slo_misconfig_severities",
                unit="findings",
                status=status,
                detail=why or f"{path}: {scan['targets']} files scanned; {' '.join(ids[:10])}".strip(),
            )
        )
    return out


def pip_audit(run, settings) -> list[dict]:
    stdout, why = _result(run)
    # pip-audit exits 1 when it found vulnerabilities; its JSON report is on stdout either way.
    if stdout is None and run.get("rc") == 1 and (run.get("stdout") or "").lstrip().startswith("{"):
        stdout, why = run["stdout"], ""
    status = _status_of(run)
    if stdout is None:
        return [
            check(
                "security",
                "python_dependencies",
                None,
                "<=",
                settings["slo_python_vulnerabilities"],
                "slo_python_vulnerabilities",
                unit="vulnerabilities",
                status=status or "error",
                detail=why,
            )
        ]
    try:
        audit = parse.pip_audit(stdout)
    except parse.ParseError as exc:
        return [
            check(
                "security",
                "python_dependencies",
                None,
                "<=",
                settings["slo_python_vulnerabilities"],
                "slo_python_vulnerabilities",
                unit="vulnerabilities",
                status="error",
                detail=str(exc),
            )
        ]
    found = "; ".join(f"{v['name']} {v['version']}: {' '.join(v['ids'])}" for v in audit["vulnerable"])
    if audit["skipped"]:
        # pip-audit marks a package it could not look up as skipped and still exits 0: not audited, not a pass.
        status = "fail" if audit["count"] > settings["slo_python_vulnerabilities"] else "unavailable"
        detail = f"{len(audit['skipped'])} of {audit['packages']} packages not audited ({audit['skipped'][0]})"
        return [
            check(
                "security",
                "python_dependencies",
                audit["count"] if audit["audited"] else None,
                "<=",
                settings["slo_python_vulnerabilities"],
                "slo_python_vulnerabilities",
                unit="vulnerabilities",
                status=status,
                detail=f"{found}; {detail}" if found else detail,
            )
        ]
    return [
        check(
            "security",
            "python_dependencies",
            audit["count"],
            "<=",
            settings["slo_python_vulnerabilities"],
            "slo_python_vulnerabilities",
            unit="vulnerabilities",
            detail=f"{audit['packages']} pinned packages audited" + (f": {found}" if found else ""),
        )
    ]


# --- availability -------------------------------------------------------------------------------------------------
def availability(raw, settings, units) -> list[dict]:
    out = []
    for service in settings["verify_services"]:
        if not any(unit["role"] == service for unit in units):
            out.append(
                check(
                    "availability",
                    f"{service}_state",
                    "missing",
                    "==",
                    "running",
                    "verify_services",
                    detail=f"no container of service {service} in project {settings['verify_project']}",
                )
            )
    allowed_health = ["healthy"] + ([] if settings["verify_health_check_required"] else ["none"])
    for unit in units:
        out.append(
            check(
                "availability",
                f"{unit['label']}_state",
                unit["state"],
                "==",
                "running",
                "verify_services",
                detail=f"up {unit['uptime_hours']} h since {unit['started_at']}, {unit['restarts']} restarts"
                if unit["running"]
                else f"exit code {unit['exit_code']}" + (", OOM-killed" if unit["oom_killed"] else ""),
            )
        )
        out.append(
            check(
                "availability",
                f"{unit['label']}_health",
                unit["health"],
                "in",
                allowed_health,
                "verify_health_check_required",
                detail="no health check defined" if unit["health"] == "none" else (unit["health_log"] or [""])[-1],
            )
        )
    out += history.checks({**(raw.get("history") or {}), "now": raw["now"]}, settings, check)
    return out


# --- patches ------------------------------------------------------------------------------------------------------
def _turned_off(category, names, threshold, setting, section):
    return [
        check(
            category,
            name,
            None,
            "==",
            threshold,
            setting,
            status="unavailable",
            detail=f"not checked: {section['disabled']} is false",
        )
        for name in names
    ]


def patches(raw, settings, units) -> list[dict]:
    if isinstance(raw["patches"], dict) and raw["patches"].get("disabled"):
        names = ["host_security", *sorted({f"{unit['label']}_security" for unit in units})]
        return _turned_off("patches", names, settings["slo_pending_security_updates"], "verify_patches", raw["patches"])
    out = []
    ignored = set(settings.get("verify_patches_ignore") or [])
    for run in raw["patches"]:
        target = run.get("target") or run["item"]["label"]
        stdout, why = _result(run)
        name = f"{target}_security"
        if stdout is None:
            out.append(
                check(
                    "patches",
                    name,
                    None,
                    "<=",
                    settings["slo_pending_security_updates"],
                    "slo_pending_security_updates",
                    unit="updates",
                    status=_status_of(run) or "error",
                    detail=why,
                )
            )
            continue
        try:
            pending = apt.pending(stdout)
        except parse.ParseError as exc:
            out.append(
                check(
                    "patches",
                    name,
                    None,
                    "<=",
                    settings["slo_pending_security_updates"],
                    "slo_pending_security_updates",
                    unit="updates",
                    status="error",
                    detail=str(exc),
                )
            )
            continue
        # An entry names a package everywhere, or <target>:<package> on one target (host, or a container's label).
        security = [p for p in pending["security"] if not {p["package"], f"{target}:{p['package']}"} & ignored]
        shown = ", ".join(apt.describe(security[:8]))
        out.append(
            check(
                "patches",
                name,
                len(security),
                "<=",
                settings["slo_pending_security_updates"],
                "slo_pending_security_updates",
                unit="updates",
                image=(run.get("item") or {}).get("image", ""),
                detail=f"{len(pending['pending'])} pending updates, {len(pending['security'])} from a security "
                f"suite"
                + (
                    f" ({len(pending['security']) - len(security)} in verify_patches_ignore)"
                    if len(security) != len(pending["security"])
                    else ""
                )
                + (f": {shown}" if shown else ""),
            )
        )
    return out


# --- audit --------------------------------------------------------------------------------------------------------
def audit(raw, settings) -> list[dict]:
    section = raw["audit"]
    if section.get("disabled"):
        names = [
            "auditd_running",
            *(f"rules_{k}" for k in settings["verify_audit_keys"]),
            *(f"events_recent_{k}" for k in settings["verify_audit_recent_keys"]),
            "nginx_access_log",
        ]
        return _turned_off("audit", names, True, "verify_audit", section)
    out = []
    stdout, why = _result(section.get("status"))
    try:
        status = parse.auditctl_status(stdout) if stdout is not None else None
    except parse.ParseError as exc:
        status, why = None, str(exc)
    out.append(
        check(
            "audit",
            "auditd_running",
            (status["enabled"] and status["pid"] > 0) if status else None,
            "==",
            True,
            "verify_audit_keys",
            expected="enabled, events go to auditd",
            status=_status_of(section.get("status")) or ("" if status else "error"),
            detail=f"enabled {int(status['enabled'])}, auditd pid {status['pid']}, {status['lost']} events lost"
            if status
            else why,
        )
    )
    stdout, why = _result(section.get("rules"))
    rules = parse.auditctl_rules(stdout) if stdout is not None else None
    for key in settings["verify_audit_keys"]:
        out.append(
            check(
                "audit",
                f"rules_{key}",
                (key in rules) if rules is not None else None,
                "==",
                True,
                "verify_audit_keys",
                expected="rule loaded",
                status="" if rules is not None else (_status_of(section.get("rules")) or "error"),
                detail="; ".join(rules.get(key, [])) if rules is not None else why,
            )
        )
    stdout, why = _result(section.get("log"))
    # The log is read after this run's own Docker calls: ages count from that moment.
    now = parse.moment(section.get("now") or raw["now"]).timestamp()
    last = parse.audit_last_events(stdout) if stdout is not None else None
    for key in settings["verify_audit_recent_keys"]:
        age = round(now - last[key]) if last and key in last else None
        out.append(
            check(
                "audit",
                f"events_recent_{key}",
                age,
                "<=",
                settings["verify_audit_max_age_seconds"],
                "verify_audit_max_age_seconds",
                unit="s",
                status=""
                if age is not None
                else (_status_of(section.get("log")) or ("fail" if last is not None else "error")),
                display=age if age is not None else "no event",
                detail=f"age of the last {key} event in the audit log" if last is not None else why,
            )
        )
    stdout, why = _result(section.get("nginx"))
    entries = parse.nginx_access_lines(stdout or "") if stdout is not None else None
    out.append(
        check(
            "audit",
            "nginx_access_log",
            len(entries) if entries is not None else None,
            ">",
            0,
            "verify_audit_max_age_seconds",
            unit="entries",
            status="" if entries is not None else (_status_of(section.get("nginx")) or "error"),
            expected="entries with client, request and status",
            detail=(
                f"in the last {settings['verify_audit_max_age_seconds']} s; last: "
                f"{entries[-1]['remote']} {entries[-1]['method']} {entries[-1]['uri']} {entries[-1]['status']}"
                if entries
                else f"no access entry in the last {settings['verify_audit_max_age_seconds']} s"
            )
            if entries is not None
            else why,
        )
    )
    if "k8s_api" in section:
        out += _k8s_api_log(section["k8s_api"], now, settings)
    return out


def _k8s_api_log(k8s, now, settings) -> list[dict]:
    """On a Kubernetes node: the running kube-apiserver writes an audit log (its --audit-log-path) whose newest
    event is at most verify_audit_max_age_seconds old. No check where no kube-apiserver runs (a worker node, a
    stopped control plane: no API, nothing to audit)."""
    apiserver = k8s.get("apiserver") or {}
    if apiserver.get("rc") == 1 and not (apiserver.get("stdout") or "").strip():
        return []
    path = k8s.get("log_path") or ""
    age, status = None, "fail"
    stdout, why = _result(apiserver)
    if apiserver.get("skipped"):
        status, display, detail = "skipped", None, "pgrep is not installed yet"
    elif stdout is None:
        status, display, detail = "error", None, f"pgrep: {why}"
    elif not path:
        display, detail = "no audit log", "kube-apiserver runs without --audit-log-path"
    else:
        log, why = _result(k8s.get("log"))
        last = parse.k8s_audit_last_event(log) if log is not None else None
        if last is None:
            display, detail = "no event", f"{path}: {why or 'no audit event in its last lines'}"
        else:
            age, status = round(now - last), ""
            display, detail = age, f"age of the newest event in {path} (kube-apiserver --audit-log-path)"
    return [
        check(
            "audit",
            "k8s_api_log_recent",
            age,
            "<=",
            settings["verify_audit_max_age_seconds"],
            "verify_audit_max_age_seconds",
            unit="s",
            status=status,
            display=display,
            detail=detail,
        )
    ]


# --- judging ------------------------------------------------------------------------------------------------------
def _compare(value, op, threshold) -> bool:
    if op in _COMPARE:
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
            return _COMPARE[op](float(value), float(threshold))
        return _COMPARE[op](value, threshold)
    if op == "subset":
        return set(value) <= set(threshold)
    if op == "in":
        return value in threshold
    raise ValueError(f"unknown comparison {op!r}")


def evaluate(checks: list[dict]) -> list[dict]:
    """The checks with a status: kept when the builder set one, else pass/fail from value, op and threshold;
    no value is an error (never a pass)."""
    judged = []
    for given in checks:
        item = dict(given)
        if not item.get("name") or item.get("category") not in CATEGORIES:
            raise ValueError(f"a check needs a name and one of the categories {CATEGORIES}: {item!r}")
        status = item.get("status")
        if status:
            if status not in STATUSES:
                raise ValueError(f"check {item['name']} has an unknown status {status!r}")
        elif item.get("value") is None:
            item["status"] = "error"
            item["detail"] = item.get("detail") or "not measured"
        else:
            try:
                item["status"] = "pass" if _compare(item["value"], item["op"], item["threshold"]) else "fail"
            except (TypeError, ValueError) as exc:
                item["status"] = "error"
                item["detail"] = f"cannot compare {item['value']!r} with {item.get('threshold')!r}: {exc}"
        judged.append(item)
    return judged


def build(raw: dict, settings: dict) -> dict:
    """Every check the raw outputs allow (a category the run did not collect is left out), judged, and the load
    runs' latency distributions: {"units", "checks", "distributions"}."""
    units = parse.units(raw.get("containers") or [], raw["now"], settings["verify_services"])
    built, distributions = [], []
    if "connectivity" in raw:
        built += connectivity(raw, settings)
    if "tls" in raw:
        built += tls(raw, settings)
    if "performance" in raw:
        more, distributions = performance(raw, settings, units)
        built += more
    if "security" in raw:
        built += security(raw, settings)
    if "availability" in raw:
        built += availability(raw, settings, units)
    if "patches" in raw:
        built += patches(raw, settings, units)
    if "audit" in raw:
        built += audit(raw, settings)
    return {"units": units, "checks": evaluate(built), "distributions": distributions}
