"""Every check verify builds, from recorded real outputs: the healthy outputs pass; each failure path fails (or is
an error / unavailable, never a pass) and names its check and its setting."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.iac.core.plugins.module_utils.verify import checks
from conftest import RECORDED, SKIPPED, data, ran, text


def build(raw, settings):
    return {
        c["name"]: c
        for c in checks.build({"now": RECORDED, "host": {"cpus": 2, "memory": 1}, **raw}, settings)["checks"]
    }


def statuses(built):
    return {name: c["status"] for name, c in built.items()}


# --- connectivity -------------------------------------------------------------------------------------------------
NETPROBE_OK = {
    "names": {
        n: {"addresses": ["172.21.0.3"], "in_subnet": True, "error": ""}
        for n in ("nginx-service", "flask-service", "postgres-service", "redis-service")
    },
    "ports": {
        t: {"open": True, "error": ""} for t in ("flask-service:5000", "postgres-service:5432", "redis-service:6379")
    },
}
PATHS = ["/", "/api/", "/api/status", "/api/health", "/health"]


def port(number, opened=True):
    if opened:
        return {"item": str(number), "port": number, "state": "started", "elapsed": 0}
    # As the task registers it: failed_when false turns wait_for's failure into failed false; only a connection
    # made returns its state (a fixture that said failed true let the check pass every closed port, live).
    return {
        "item": str(number),
        "failed": False,
        "failed_when_result": False,
        "msg": f"Timeout when waiting for 127.0.0.1:{number}",
        "elapsed": 5,
    }


def connectivity(**override):
    section = {
        "ports": [port(18080), port(18443)],
        "netprobe": ran(json.dumps(NETPROBE_OK)),
        "http": [{"item": {"path": p, "status": 200}, "status": 200} for p in PATHS],
        "redirect": {"status": 301, "location": "https://localhost:18443/"},
    }
    section.update(override)
    return {"connectivity": section}


def test_healthy_connectivity_passes(settings, containers):
    built = build({**connectivity(), "containers": containers}, settings)
    assert set(statuses(built).values()) == {"pass"}
    assert set(built) == {
        "connectivity.host_port_18080",
        "connectivity.host_port_18443",
        "connectivity.http_redirect",
        *(f"connectivity.dns_{n}" for n in NETPROBE_OK["names"]),
        *(f"connectivity.network_port_{t}" for t in NETPROBE_OK["ports"]),
        *(f"connectivity.https_{p}" for p in PATHS),
    }


def test_a_port_that_refuses_connections_fails(settings):
    settings["verify_host_ports"] = ["18080", "18443", "18999"]
    built = build(connectivity(ports=[port(18080), port(18443), port(18999, opened=False)]), settings)
    assert built["connectivity.host_port_18999"]["status"] == "fail"
    assert "Timeout" in built["connectivity.host_port_18999"]["detail"]
    assert built["connectivity.host_port_18443"]["status"] == "pass"


def test_a_name_outside_the_subnet_or_unresolved_fails(settings):
    probe = copy.deepcopy(NETPROBE_OK)
    probe["names"]["redis-service"] = {
        "addresses": [],
        "in_subnet": False,
        "error": "[Errno -2] Name or service not known",
    }
    probe["names"]["nginx-service"] = {"addresses": ["10.9.9.9"], "in_subnet": False, "error": ""}
    probe["ports"]["redis-service:6379"] = {"open": False, "error": "timed out"}
    built = build(connectivity(netprobe=ran(json.dumps(probe))), settings)
    assert built["connectivity.dns_redis-service"]["status"] == "fail"
    assert built["connectivity.dns_nginx-service"]["status"] == "fail"
    assert built["connectivity.network_port_redis-service:6379"]["status"] == "fail"
    assert built["connectivity.dns_flask-service"]["status"] == "pass"


@pytest.mark.parametrize("probe", [None, ran("", rc=126, stderr="OCI runtime exec failed"), ran("not json")])
def test_a_probe_that_did_not_run_is_an_error_for_every_name(settings, probe):
    built = build(connectivity(netprobe=probe), settings)
    assert {built[f"connectivity.dns_{n}"]["status"] for n in NETPROBE_OK["names"]} == {"error"}
    assert {built[f"connectivity.network_port_{t}"]["status"] for t in NETPROBE_OK["ports"]} == {"error"}


def test_a_wrong_status_or_no_answer_fails_the_route(settings):
    http = [
        {"item": {"path": "/api/health", "status": 200}, "status": 503},
        {"item": {"path": "/", "status": 200}, "status": -1, "msg": "Connection refused"},
    ]
    built = build(connectivity(http=http), settings)
    assert built["connectivity.https_/api/health"]["status"] == "fail"
    assert built["connectivity.https_/"]["status"] == "error"
    assert "refused" in built["connectivity.https_/"]["detail"]


@pytest.mark.parametrize(
    "redirect",
    [
        {"status": 200},
        {"status": 301, "location": "http://localhost/"},
        {"status": 302, "location": "https://localhost/"},
    ],
)
def test_a_broken_redirect_fails(settings, redirect):
    assert build(connectivity(redirect=redirect), settings)["connectivity.http_redirect"]["status"] == "fail"


@pytest.mark.parametrize("ports", [[], [port(18080), {"item": "18443", **SKIPPED}]])
def test_a_port_not_probed_is_an_error_not_a_pass(settings, ports):
    built = build(connectivity(ports=ports), settings)
    assert built["connectivity.host_port_18443"]["status"] == "error"


# --- TLS ----------------------------------------------------------------------------------------------------------
TLS_NAMES = {
    "tls.handshake",
    "tls.protocols_accepted",
    "tls.certificate_trusted",
    "tls.certificate_valid_now",
    "tls.certificate_days_left",
    "tls.certificate_name",
}


def test_the_stacks_tls_passes(settings):
    built = build({"tls": data("tls-stack.json")}, settings)
    assert set(built) == TLS_NAMES
    assert set(statuses(built).values()) == {"pass"}
    assert built["tls.protocols_accepted"]["value"] == ["TLSv1.2", "TLSv1.3"]


def test_a_server_accepting_tls_1_0_and_1_1_fails_the_protocol_checks(settings):
    built = build({"tls": data("tls-legacy-server.json")}, settings)
    assert built["tls.handshake"]["status"] == "fail"
    assert built["tls.handshake"]["value"] == "TLSv1.1"
    assert built["tls.protocols_accepted"]["status"] == "fail"
    assert built["tls.protocols_accepted"]["value"] == ["TLSv1", "TLSv1.1"]
    # Python's TLS client (get_certificate) refuses TLS 1.1 itself: the certificate could not be read, an error.
    assert built["tls.certificate_name"]["status"] == "error"


def test_an_expired_self_signed_certificate_for_another_name_fails_every_certificate_check(settings):
    built = build({"tls": data("tls-weak-server.json")}, settings)
    assert statuses(built) == {
        "tls.handshake": "pass",
        "tls.protocols_accepted": "fail",
        "tls.certificate_trusted": "fail",
        "tls.certificate_valid_now": "fail",
        "tls.certificate_days_left": "fail",
        "tls.certificate_name": "fail",
    }
    assert built["tls.certificate_days_left"]["value"] < 0
    assert "self-signed" in built["tls.certificate_trusted"]["detail"]


def test_a_certificate_close_to_expiry_fails_days_left_only(settings):
    settings["slo_certificate_min_days"] = 400
    built = build({"tls": data("tls-stack.json")}, settings)
    assert built["tls.certificate_days_left"]["status"] == "fail"
    assert built["tls.certificate_valid_now"]["status"] == "pass"


def test_no_server_is_an_error_for_every_tls_check(settings):
    refused = ran("", rc=1, stderr="connect:errno=111\n")
    section = {
        "probes": dict.fromkeys(["default", *settings["verify_tls_probe_protocols"]], refused),
        "served": {"msg": "Failed to get cert from 127.0.0.1:1, error: [Errno 111] Connection refused"},
        "trusted": {"msg": "Failed"},
        "info": SKIPPED,
        "ca_file": "",
    }
    assert set(statuses(build({"tls": section}, settings)).values()) == {"error"}


def test_a_certificate_that_cannot_be_read_is_an_error_for_every_certificate_check(settings):
    """The server sent a certificate that x509_certificate_info could not load: nothing about it was measured."""
    unreadable = {"failed": True, "msg": "Error while loading certificate: no PEM data found", "changed": False}
    built = build({"tls": {**data("tls-stack.json"), "info": unreadable}}, settings)
    certificate = TLS_NAMES - {"tls.handshake", "tls.protocols_accepted"}
    assert {name: built[name]["status"] for name in certificate} == dict.fromkeys(certificate, "error")
    for name in certificate:
        assert built[name]["value"] is None
        assert (
            built[name]["detail"] == "cannot read the certificate: Error while loading certificate: no PEM data found"
        )
    assert built["tls.handshake"]["status"] == "pass"


def test_openssl_missing_in_check_mode_is_skipped(settings):
    section = {**data("tls-stack.json"), "probes": dict.fromkeys(["default", "TLSv1"], SKIPPED)}
    built = build({"tls": section}, settings)
    assert built["tls.handshake"]["status"] == "skipped"
    assert built["tls.certificate_name"]["status"] == "pass"


# --- performance --------------------------------------------------------------------------------------------------
def phase(runs=None, cgroups=None, **more):
    return {
        "runs": runs
        if runs is not None
        else [ran(text("wrk-root.txt") + 'VERIFY_RUSAGE {"cpu_seconds": 1.2, "seconds": 3.2}\n', item="/")],
        "stat_before": text("proc-stat-before.txt"),
        "stat_after": text("proc-stat-after.txt"),
        "meminfo": text("meminfo.txt"),
        "cgroups_before": (cgroups or {}).get("before") or ran(text("cgroups-before.json")),
        "cgroups_after": (cgroups or {}).get("after") or ran(text("cgroups-after.json")),
        "window": 4,
        **more,
    }


def trivially_met(settings):
    settings.update(
        slo_throughput_rps=0,
        slo_latency_p95_ms=60000,
        slo_latency_p99_ms=60000,
        slo_cpu_percent=100.1,
        slo_memory_percent=100.1,
        slo_availability_percent=0,
    )
    return settings


def resources(**more):
    """The resources phase: wrk holding 300 req/s over 100 connections (recorded: 250 req/s reached)."""
    run = ran(text("wrk-resources.txt") + 'VERIFY_RUSAGE {"cpu_seconds": 0.4, "seconds": 3.1}\n', item="/")
    return phase([run], **more)


def performance(**more):
    return {"load": phase(), "resources": resources(**more)}


def test_load_runs_and_resources_judged(settings, containers):
    built = build({"performance": performance(), "containers": containers}, trivially_met(settings))
    assert set(statuses(built).values()) == {"pass"}
    assert set(built) == {
        "performance.throughput_/",
        "performance.latency_p95_/",
        "performance.latency_p99_/",
        "availability.request_success_/",
        "performance.resource_load_rate_/",
        "performance.cpu_host",
        "performance.memory_host",
        *(f"performance.{k}_{s}" for k in ("cpu", "memory") for s in ("flask-blue", "nginx", "postgres", "redis")),
    }
    assert "of which the load tool and the processes that started it" in built["performance.cpu_host"]["detail"]


@pytest.mark.parametrize(
    ("setting", "value", "name"),
    [
        ("slo_throughput_rps", 1e9, "performance.throughput_/"),
        ("slo_latency_p95_ms", 0.001, "performance.latency_p95_/"),
        ("slo_latency_p99_ms", 0.001, "performance.latency_p99_/"),
        ("slo_cpu_percent", 0, "performance.cpu_host"),
        ("slo_cpu_percent", 0, "performance.cpu_redis"),
        ("slo_memory_percent", 0, "performance.memory_host"),
        ("slo_memory_percent", 0, "performance.memory_postgres"),
        ("slo_availability_percent", 100, "availability.request_success_/"),
        ("verify_resource_rps", 1000, "performance.resource_load_rate_/"),
    ],
)
def test_an_impossible_threshold_fails_its_check(settings, containers, setting, value, name):
    trivially_met(settings)[setting] = value
    check = build({"performance": performance(), "containers": containers}, settings)[name]
    assert check["status"] == "fail"
    assert check["setting"] == setting


def test_host_cpu_is_measured_over_the_load_run_alone(settings, containers):
    """rusage.py's counters around the run decide, not the tasks' readings, which count their own start-up: here
    the readings around the tasks say 100 % busy, the run itself 60 % busy, of which the measurement's own 15 %."""
    before, after = "cpu  1000 0 0 1000 0 0 0 0 0 0", "cpu  1600 0 0 1400 0 0 0 0 0 0"
    rusage = json.dumps(
        {
            "cpu_seconds": 1.0,
            "seconds": 5.0,
            "host_stat": [before, after],
            "harness_ticks": 50,
            "busiest": [["gunicorn", 300], ["nginx", 40]],
        }
    )
    run = ran(text("wrk-resources.txt") + f"VERIFY_RUSAGE {rusage}\n", item="/")
    busy_tasks = {"stat_before": "cpu  0 0 0 0 0 0 0 0 0 0", "stat_after": "cpu  2000 0 0 0 0 0 0 0 0 0"}
    built = build(
        {"performance": {"resources": phase([run], **busy_tasks)}, "containers": containers},
        trivially_met(settings),
    )
    cpu = built["performance.cpu_host"]
    # The load tool's 1 s and its starters' 0.5 s (50 ticks) of the 10 CPU-seconds are the measurement's own.
    assert cpu["value"] == 45.0
    assert "60.0 % busy, of which the load tool and the processes that started it 15.0 %" in cpu["detail"]
    # Where the time went, in percent of all CPUs over the run (1000 ticks): named, so a breach says why.
    assert "busiest: gunicorn 30.0 %, nginx 4.0 %; steal 0.0 %" in cpu["detail"]
    # Without the run's own counters, the tasks' readings are all there is.
    old = ran(text("wrk-resources.txt") + 'VERIFY_RUSAGE {"cpu_seconds": 1.0, "seconds": 5.0}\n', item="/")
    built = build({"performance": {"resources": phase([old], **busy_tasks)}}, trivially_met(settings))
    assert built["performance.cpu_host"]["value"] == 95.0


def test_failed_requests_fail_request_success(settings):
    output = text("wrk-root.txt").replace('"status":0', '"status":7').replace('"read":0', '"read":3')
    trivially_met(settings)["slo_availability_percent"] = 99.9
    check = build({"performance": {"load": phase([ran(output, item="/")])}}, settings)
    assert check["availability.request_success_/"]["status"] == "fail"
    assert "10 of 523 requests failed" in check["availability.request_success_/"]["detail"]


@pytest.mark.parametrize("run", [ran(text("wrk-refused.txt"), rc=1, item="/"), ran("", item="/")])
def test_a_load_run_that_measured_nothing_is_an_error(settings, run):
    built = build({"performance": {"load": phase([run])}}, trivially_met(settings))
    assert {built[n]["status"] for n in built if n.endswith("_/")} == {"error"}


def test_no_cgroup_reading_is_an_error_per_container(settings, containers):
    failed = ran("", rc=2, stderr="python3: can't open file '/usr/local/share/iac-verify/cgroups.py'")
    built = build(
        {"performance": performance(cgroups={"after": failed}), "containers": containers},
        trivially_met(settings),
    )
    assert built["performance.cpu_nginx"]["status"] == "error"
    assert "cgroups.py" in built["performance.cpu_nginx"]["detail"]


@pytest.mark.parametrize(
    ("after", "why"),
    [
        ('{"monotonic": 12.5, "pids": {', "Expecting property name enclosed in double quotes"),
        ('{"pids": {}}', "'monotonic'"),
    ],
)
def test_cgroup_readings_that_cannot_be_read_are_an_error_per_container(settings, containers, after, why):
    """cgroups.py ran (exit 0) but printed what it does not print: no container's CPU or memory was measured."""
    built = build(
        {"performance": performance(cgroups={"after": ran(after)}), "containers": containers},
        trivially_met(settings),
    )
    for unit in ("flask-blue", "nginx", "postgres", "redis"):
        for kind in ("cpu", "memory"):
            check = built[f"performance.{kind}_{unit}"]
            assert (check["status"], check["value"]) == ("error", None), check
            assert check["detail"].startswith("not measured: cannot read the cgroup readings: "), check
            assert why in check["detail"]
    # The host's own counters do not come from the cgroup readings.
    assert built["performance.cpu_host"]["status"] == "pass"


def test_a_resource_run_whose_output_cannot_be_parsed_is_an_error_for_the_offered_rate(settings, containers):
    """wrk ran without the role's report script: the rate offered while CPU and memory were sampled is unknown."""
    run = ran("Running 3s test @ http://127.0.0.1:18080/\n  2 threads and 100 connections\n", item="/")
    built = build(
        {"performance": {"resources": phase([run])}, "containers": containers},
        trivially_met(settings),
    )
    check = built["performance.resource_load_rate_/"]
    assert (check["status"], check["value"]) == ("error", None)
    assert check["detail"] == "wrk printed no VERIFY_WRK line (is wrk-report.lua loaded?)"


def test_counters_that_read_zero_are_not_measured(settings, containers):
    """An engine or kernel that does not account a container's cgroup reads 0: not a pass of `< 70 %`."""
    after = json.loads(text("cgroups-after.json"))
    for reading in after["pids"].values():
        reading["cpu_ns"] = 0
    built = build(
        {"performance": performance(cgroups={"after": ran(json.dumps(after))}), "containers": containers},
        trivially_met(settings),
    )
    assert {built[f"performance.{k}_redis"]["status"] for k in ("cpu", "memory")} == {"error"}
    assert "read zero" in built["performance.cpu_redis"]["detail"]


def test_container_cpu_and_memory_from_the_cgroup_counters(settings, containers):
    built = build({"performance": performance(), "containers": containers}, trivially_met(settings))
    # flask-blue used ~2.3 s of CPU in the ~2.1 s between the recorded readings: ~110 % of one CPU; of the host's 2.
    assert 40 < built["performance.cpu_flask-blue"]["value"] < 70
    assert built["performance.memory_flask-blue"]["value"] == round(100 * 115486720 / 1073741824, 1)


def test_stress_phase_has_its_own_checks(settings, containers):
    stress = {**phase(), "stress_ng": ran("stress-ng: info: [1] successful run completed in 60.00s")}
    built = build(
        {"performance": {**performance(), "stress": stress}, "containers": containers}, trivially_met(settings)
    )
    assert {
        "performance.stress_completed",
        "performance.stress_latency_p99_/",
        "availability.stress_request_success_/",
    } <= set(built)
    # stress-ng keeps the CPUs busy by design: that phase judges what clients see, not CPU and memory.
    assert not {name for name in built if name.startswith(("performance.stress_cpu", "performance.stress_memory"))}
    assert set(statuses(built).values()) == {"pass"}
    settings["slo_latency_p99_ms"] = 0.001
    stress["stress_ng"] = ran("", rc=2, stderr="stress-ng: error: [1] no stressors")
    built = build({"performance": {**performance(), "stress": stress}, "containers": containers}, settings)
    assert built["performance.stress_latency_p99_/"]["status"] == "fail"
    assert built["performance.stress_completed"]["status"] == "error"


# --- security -----------------------------------------------------------------------------------------------------
def security(**override):
    section = {"ss": ran(text("ss.txt")), "containers": data("docker-containers.json"), "k8s_node": False}
    section.update(override)
    return {"security": section}


def test_sockets_and_published_ports(settings):
    settings["verify_allowed_published_ports"] += [80, 443]
    built = build(security(), settings)
    assert built["security.listening_sockets"]["status"] == "pass"
    assert built["security.published_ports"]["status"] == "pass"


def test_an_extra_listener_and_an_extra_published_port_fail(settings):
    settings["verify_allowed_tcp_ports_extra"] = []
    settings["verify_allowed_published_ports"] = ["18080"]
    built = build(security(), settings)
    assert built["security.listening_sockets"]["status"] == "fail"
    assert any(":2024/tcp" in entry for entry in built["security.listening_sockets"]["value"])
    assert built["security.published_ports"]["status"] == "fail"
    assert built["security.published_ports"]["value"] == ["iacv-nginx-1 0.0.0.0:18443->443/tcp"]


@pytest.mark.parametrize(
    ("output", "line"),
    [
        # ss without --no-header (an older ss): the table's header first.
        ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" + text("ss.txt"), "Netid"),
        # Something else answered as ss (a wrapper, another tool).
        ("Active Internet connections (only servers)\n", "Active Internet"),
    ],
)
def test_ss_output_that_is_not_ss_table_is_an_error_not_a_pass(settings, output, line):
    """Lines that are not sockets were once skipped: a garbled output read as "no socket exposed", a pass."""
    check = build(security(ss=ran(output)), settings)["security.listening_sockets"]
    assert (check["status"], check["value"]) == ("error", None)
    assert check["detail"].startswith(f"not a socket line of ss: '{line}")
    # An empty table is a host with no listening socket: measured, and nothing is exposed.
    assert build(security(ss=ran("")), settings)["security.listening_sockets"]["status"] == "pass"


def trivy_section(image=None, config=None, db=None):
    return {
        "db": db,
        "db_error": "",
        "images": [ran(image or text("trivy-image.json"), item={"label": "nginx", "image": "nginx:1"})],
        "config": [ran(config or text("trivy-config.json"), item="/project/app")],
    }


def test_trivy_without_db_is_unavailable_never_a_pass(settings):
    built = build({**security(), "trivy": trivy_section()}, settings)
    assert built["security.image_vulnerabilities_nginx"]["status"] == "unavailable"
    assert built["security.image_vulnerabilities_nginx"]["value"] is None
    assert built["security.image_secrets_nginx"]["status"] == "pass"
    assert built["security.image_misconfig_nginx"]["status"] == "pass"  # one LOW finding, HIGH/CRITICAL gate
    assert built["security.config_misconfig_app"]["status"] == "pass"


def _with_findings():
    report = json.loads(text("trivy-image.json"))
    report["Results"][0]["Vulnerabilities"] = [
        {"VulnerabilityID": "CVE-2099-0001", "PkgName": "libssl3", "InstalledVersion": "3.0.0", "Severity": "CRITICAL"}
    ]
    report["Results"][1]["Secrets"] = [{"RuleID": "aws-access-key-id", "Severity": "CRITICAL", "Title": "AWS"}]
    report["Results"][1]["Misconfigurations"].append({"ID": "DS-0002", "Severity": "HIGH", "Status": "FAIL"})
    return json.dumps(report)


def test_trivy_findings_fail_and_name_what_was_found(settings):
    config = json.loads(text("trivy-config.json"))
    config["Results"][0]["Misconfigurations"] = [
        {"ID": "DS-0001", "Severity": "HIGH", "Status": "FAIL"},
        {"ID": "DS-0005", "Severity": "HIGH", "Status": "PASS"},
    ]
    built = build(
        {**security(), "trivy": trivy_section(_with_findings(), json.dumps(config), {"UpdatedAt": "x"})}, settings
    )
    assert built["security.image_vulnerabilities_nginx"]["status"] == "fail"
    assert "CVE-2099-0001 libssl3@3.0.0" in built["security.image_vulnerabilities_nginx"]["detail"]
    assert built["security.image_secrets_nginx"]["status"] == "fail"
    assert built["security.image_misconfig_nginx"]["value"] == 1
    assert built["security.config_misconfig_app"]["value"] == 1


def test_a_failed_scan_is_an_error(settings):
    section = trivy_section()
    section["images"] = [ran("", rc=1, stderr="FATAL image scan error", item={"label": "nginx", "image": "nginx:1"})]
    section["config"] = [ran("{not json", item="/project/app")]
    built = build({**security(), "trivy": section}, settings)
    assert {built[n]["status"] for n in built if n.endswith(("_nginx", "_app"))} == {"error"}


def test_pip_audit_that_audited_nothing_is_unavailable(settings):
    built = build({**security(), "pip_audit": ran(text("pip-audit-clean.json"))}, settings)
    check = built["security.python_dependencies"]
    assert check["status"] == "unavailable"
    assert check["value"] is None
    assert "not audited" in check["detail"]


def test_pip_audit_vulnerable_pin_fails(settings):
    # pip-audit's documented JSON for a pin with advisories (recorded shape; exit 1 when it found some).
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "2.10",
                "vulns": [
                    {
                        "id": "PYSEC-2019-217",
                        "fix_versions": ["2.10.1"],
                        "aliases": ["CVE-2019-10906"],
                        "description": "",
                    }
                ],
            }
        ],
        "fixes": [],
    }
    check = build({**security(), "pip_audit": ran(json.dumps(report), rc=1)}, settings)["security.python_dependencies"]
    assert check["status"] == "fail"
    assert "jinja2 2.10: PYSEC-2019-217" in check["detail"]
    report["dependencies"][0].pop("vulns")
    report["dependencies"][0]["vulns"] = []
    assert (
        build({**security(), "pip_audit": ran(json.dumps(report))}, settings)["security.python_dependencies"]["status"]
        == "pass"
    )
    broken = build({**security(), "pip_audit": ran("", rc=1, stderr="Traceback")}, settings)
    assert broken["security.python_dependencies"]["status"] == "error"


@pytest.mark.parametrize(
    ("run", "why"),
    [
        # exit 0 with JSON that is not pip-audit's report
        (ran('{"fixes": []}'), "pip-audit printed no JSON report: 'dependencies'"),
        # exit 1 ("found vulnerabilities") with a report cut short: taken as its report, which does not parse
        (ran('{"dependencies": [{"name": "jinja2", "version": "2.10", "vulns": [', rc=1), "pip-audit printed no JSON"),
    ],
)
def test_a_pip_audit_report_that_cannot_be_parsed_is_an_error(settings, run, why):
    check = build({**security(), "pip_audit": run}, settings)["security.python_dependencies"]
    assert (check["status"], check["value"]) == ("error", None)
    assert check["detail"].startswith(why)


# --- availability -------------------------------------------------------------------------------------------------
def test_states_and_health_of_the_stack(settings, containers):
    built = build({"availability": {}, "containers": containers}, settings)
    assert {
        built[f"availability.{s}_{k}"]["status"]
        for s in ("nginx", "flask-blue", "postgres", "redis")
        for k in ("state", "health")
    } == {"pass"}
    # No monitoring: uptime, MTBF and MTTR are unavailable, with the reason.
    for name in ("uptime", "mtbf", "mttr"):
        assert built[f"availability.{name}"]["status"] == "unavailable"
        assert "verify_prometheus_url is empty" in built[f"availability.{name}"]["detail"]


def test_a_stopped_unhealthy_or_missing_service_fails(settings, containers):
    broken = copy.deepcopy(containers)
    by_service = {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in broken}
    by_service["redis"]["State"].update(Status="exited", Running=False, ExitCode=0)
    by_service["postgres"]["State"]["Health"]["Status"] = "unhealthy"
    broken.remove(by_service["nginx"])
    built = build({"availability": {}, "containers": broken}, settings)
    assert built["availability.redis_state"]["status"] == "fail"
    assert built["availability.postgres_health"]["status"] == "fail"
    assert built["availability.nginx_state"]["value"] == "missing"
    assert built["availability.nginx_state"]["status"] == "fail"


# --- patches ------------------------------------------------------------------------------------------------------
def test_pending_security_updates_fail_and_ignored_packages_are_said(settings):
    host = ran(text("apt-host-policy.txt") + "\n===\n" + text("apt-host-upgrade.txt"), target="host")
    image = ran(text("apt-image.txt"), item={"label": "nginx", "image": "nginx:1"})
    built = build({"patches": [host, image]}, settings)
    assert built["patches.host_security"]["status"] == "fail"
    assert built["patches.host_security"]["value"] == 92
    assert "143 pending updates" in built["patches.host_security"]["detail"]
    assert built["patches.nginx_security"]["status"] == "pass"
    held = [line.split()[1] for line in text("apt-host-upgrade.txt").splitlines() if line.startswith("Inst")]
    settings["verify_patches_ignore"] = [f"host:{package}" for package in held]
    same_on_an_image = ran(host["stdout"], item={"label": "nginx", "image": "nginx:1"})
    built = build({"patches": [host, same_on_an_image]}, settings)
    assert built["patches.host_security"]["status"] == "pass"
    assert "92 in verify_patches_ignore" in built["patches.host_security"]["detail"]
    # Held on the host only: the same updates pending in an image still fail.
    assert built["patches.nginx_security"]["status"] == "fail"
    settings["verify_patches_ignore"] = held
    assert build({"patches": [same_on_an_image]}, settings)["patches.nginx_security"]["status"] == "pass"


def test_an_image_without_a_package_index_is_an_error(settings):
    image = ran(text("apt-image-noindex.txt"), item={"label": "nginx", "image": "nginx:1"})
    check = build({"patches": [image]}, settings)["patches.nginx_security"]
    assert check["status"] == "error"
    assert "no package index" in check["detail"]


def test_a_failed_apt_run_is_an_error_naming_its_exit_and_message(settings):
    host = ran(
        "", rc=100, stderr="E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242", target="host"
    )
    image = ran(
        "",
        rc=125,
        stderr="docker: Error response from daemon: No such image: nginx:1",
        item={"label": "nginx", "image": "nginx:1"},
    )
    built = build({"patches": [host, image]}, settings)
    assert (built["patches.host_security"]["status"], built["patches.host_security"]["value"]) == ("error", None)
    assert built["patches.host_security"]["detail"].startswith("exit 100: E: Could not get lock")
    assert (built["patches.nginx_security"]["status"], built["patches.nginx_security"]["value"]) == ("error", None)
    assert (
        built["patches.nginx_security"]["detail"]
        == "exit 125: docker: Error response from daemon: No such image: nginx:1"
    )


def test_an_apt_simulation_without_its_summary_is_an_error(settings):
    """apt-get printed its index but no "N upgraded, ..." line (cut short): zero updates was not measured."""
    cut = text("apt-host-policy.txt") + "\n===\nReading package lists...\n"
    check = build({"patches": [ran(cut, target="host")]}, settings)["patches.host_security"]
    assert (check["status"], check["value"]) == ("error", None)
    assert check["detail"] == "apt-get -s upgrade printed no summary"


# --- audit --------------------------------------------------------------------------------------------------------
def audit_section(**override):
    section = {
        "status": ran(text("auditctl-status.txt")),
        "rules": ran(text("auditctl-rules.txt")),
        "log": ran(text("audit-log.txt")),
        "nginx": ran(text("nginx-logs.txt")),
    }
    section.update(override)
    return {"audit": section}


AUDIT_NAMES = {
    "audit.auditd_running",
    "audit.rules_iac-docker",
    "audit.rules_iac-sudo",
    "audit.rules_iac-sshd",
    "audit.events_recent_iac-docker",
    "audit.nginx_access_log",
}


def test_audit_sources_on_and_recent(settings):
    built = build(audit_section(), settings)
    assert set(built) == AUDIT_NAMES
    assert set(statuses(built).values()) == {"pass"}


def test_auditd_stopped_or_a_rule_removed_fails(settings):
    stopped = text("auditctl-status.txt").replace("pid 8837", "pid 0")
    rules = "\n".join(line for line in text("auditctl-rules.txt").splitlines() if "iac-sudo" not in line)
    built = build(audit_section(status=ran(stopped), rules=ran(rules)), settings)
    assert built["audit.auditd_running"]["status"] == "fail"
    assert built["audit.rules_iac-sudo"]["status"] == "fail"
    assert built["audit.rules_iac-docker"]["status"] == "pass"


def test_old_or_missing_events_and_an_empty_access_log_fail(settings):
    settings["verify_audit_max_age_seconds"] = 0
    built = build(audit_section(nginx=ran("")), settings)
    assert built["audit.events_recent_iac-docker"]["status"] == "fail"
    assert built["audit.nginx_access_log"]["status"] == "fail"
    built = build(audit_section(log=ran("type=DAEMON_START msg=audit(1796211000.0:1): op=start")), settings)
    assert built["audit.events_recent_iac-docker"]["status"] == "fail"


def test_no_auditctl_is_an_error_not_a_pass(settings):
    missing = ran("", rc=2, msg="[Errno 2] No such file or directory: b'auditctl'")
    built = build(audit_section(status=missing, rules=missing, log=ran("", rc=1, stderr="tail: cannot open")), settings)
    assert {built[n]["status"] for n in AUDIT_NAMES - {"audit.nginx_access_log"}} == {"error"}


def test_auditctl_status_that_cannot_be_parsed_is_an_error(settings):
    """auditctl -s ran but printed no enabled/pid line (another auditctl's format): not known to be running."""
    built = build(audit_section(status=ran("AUDIT_STATUS: mask=0x0 rate_limit=0\n")), settings)
    check = built["audit.auditd_running"]
    assert (check["status"], check["value"]) == ("error", None)
    assert check["detail"] == "auditctl -s printed no enabled/pid line"
    assert built["audit.rules_iac-docker"]["status"] == "pass"


# The API server's audit log on a Kubernetes node. The two fixtures are in the formats of `pgrep --list-full` and of
# the API server's JSON audit log (written by hand from the supervisor program of this machine's kube-apiserver and
# audit.k8s.io/v1 events: no cluster here had an audit log yet; record-fixtures records real ones on a node).
def k8s_api(now=RECORDED, **override):
    k8s = {
        "apiserver": ran(text("kube-apiserver-pgrep.txt")),
        "log_path": "/var/log/kubernetes/audit.log",
        "log": ran(text("k8s-audit-log.txt")),
    }
    k8s.update(override)
    return audit_section(k8s_api=k8s, now=now)


def test_a_fresh_k8s_api_audit_log_passes(settings):
    built = build(k8s_api(), settings)
    assert set(built) == AUDIT_NAMES | {"audit.k8s_api_log_recent"}
    check = built["audit.k8s_api_log_recent"]
    # The newest complete event is 2 s older than the moment the log was read.
    assert (check["status"], check["value"], check["setting"]) == ("pass", 2, "verify_audit_max_age_seconds")
    assert "/var/log/kubernetes/audit.log" in check["detail"]


@pytest.mark.parametrize(
    ("override", "shown", "why"),
    [
        # Nothing written for an hour: the log was read at 12:47:10, its newest event is of 11:47:08.
        ({"now": "2026-12-02T12:47:10+00:00"}, 3602, "age of the newest event"),
        (
            {"log": ran("", rc=1, stderr="tail: cannot open '/var/log/kubernetes/audit.log' for reading")},
            "no event",
            "cannot open",
        ),
        ({"log": ran("")}, "no event", "no audit event in its last lines"),
        (
            {"log": ran('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID"')},
            "no event",
            "no audit event",
        ),
        # The API server was started without the flag: no log to look at.
        (
            {
                "apiserver": ran(text("kube-apiserver-pgrep.txt").replace("--audit-log-path=", "--no-audit=")),
                "log_path": "",
                "log": SKIPPED,
            },
            "no audit log",
            "kube-apiserver runs without --audit-log-path",
        ),
    ],
)
def test_a_stale_missing_or_absent_k8s_api_audit_log_fails(settings, override, shown, why):
    now = override.pop("now", RECORDED)
    check = build(k8s_api(now=now, **override), settings)["audit.k8s_api_log_recent"]
    assert check["status"] == "fail", check
    assert check["display"] == shown
    assert why in check["detail"]


def test_no_k8s_api_check_where_no_api_server_runs_and_an_error_when_pgrep_fails(settings):
    # Not a Kubernetes node (nothing recorded), or a node where no kube-apiserver runs (pgrep exits 1).
    assert "audit.k8s_api_log_recent" not in build(audit_section(), settings)
    none = {"apiserver": ran("", rc=1), "log_path": "", "log": SKIPPED}
    assert "audit.k8s_api_log_recent" not in build(k8s_api(**none), settings)
    broken = {"apiserver": ran("", rc=2, stderr="pgrep: bad option"), "log_path": "", "log": SKIPPED}
    assert build(k8s_api(**broken), settings)["audit.k8s_api_log_recent"]["status"] == "error"
    # In --check on a host where pgrep is not installed yet.
    check_mode = {"apiserver": SKIPPED, "log_path": "", "log": SKIPPED}
    assert build(k8s_api(**check_mode), settings)["audit.k8s_api_log_recent"]["status"] == "skipped"


# --- judging ------------------------------------------------------------------------------------------------------
def test_no_value_is_an_error_and_a_set_status_is_kept():
    judged = checks.evaluate(
        [
            checks.check("tls", "a", None, "==", True, "-"),
            checks.check("tls", "b", None, "==", True, "-", status="unavailable", detail="why"),
            checks.check("tls", "c", "x", "<", 3, "-"),
        ]
    )
    assert [c["status"] for c in judged] == ["error", "unavailable", "error"]
    with pytest.raises(ValueError, match="one of the categories"):
        checks.evaluate([{"name": "x", "category": "nonsense"}])


def test_a_category_turned_off_is_reported_unavailable_not_left_out(settings, containers):
    built = build(
        {"patches": {"disabled": "verify_patches"}, "audit": {"disabled": "verify_audit"}, "containers": containers},
        settings,
    )
    assert set(built) == AUDIT_NAMES | {"patches.host_security"} | {
        f"patches.{u}_security" for u in ("flask-blue", "nginx", "postgres", "redis")
    }
    assert {c["status"] for c in built.values()} == {"unavailable"}
    assert built["audit.auditd_running"]["detail"] == "not checked: verify_audit is false"
