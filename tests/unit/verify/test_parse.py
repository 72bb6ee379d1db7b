"""The parsers on real tool outputs (fixtures/), and on outputs a broken tool prints: those raise, never parse
as a healthy zero."""

from __future__ import annotations

import pytest
from ansible_collections.iac.core.plugins.module_utils.verify import parse
from conftest import RECORDED, data, text


def test_wrk_report_with_the_latency_distribution():
    run = parse.load_run(text("wrk-root.txt"), "wrk")
    assert run["requests"] == 520
    assert run["failed"] == 0
    assert run["success_percent"] == 100.0
    assert run["rps"] == pytest.approx(520 / 3.164911, abs=0.1)
    assert run["p95_ms"] == 369.02
    assert run["p99_ms"] == 492.42
    assert list(run["percentiles"]) == ["1", "5", "10", "25", "50", "75", "90", "95", "99", "99.9"]


def test_ab_report_reads_its_percentile_table():
    run = parse.load_run(text("ab-health.txt"), "ab")
    assert run["requests"] == 2000
    assert run["failed"] == 0
    assert (run["p95_ms"], run["p99_ms"]) == (58.0, 131.0)
    assert run["rps"] == pytest.approx(504.8, abs=0.5)


@pytest.mark.parametrize(("fixture", "tool"), [("wrk-refused.txt", "wrk"), ("ab-refused.txt", "ab")])
def test_a_load_tool_that_reached_nothing_is_unparseable(fixture, tool):
    with pytest.raises(parse.ParseError):
        parse.load_run(text(fixture), tool)


@pytest.mark.parametrize("output", ["", "garbage", "VERIFY_WRK {not json}"])
def test_empty_or_garbled_wrk_output_is_an_error(output):
    with pytest.raises(parse.ParseError):
        parse.load_run(output, "wrk")


def test_units_of_docker_inspect(containers):
    units = parse.units(containers, RECORDED, ["nginx", "flask", "postgres", "redis"])
    assert [(u["label"], u["role"], u["health"], u["running"]) for u in units] == [
        ("flask-blue", "flask", "healthy", True),
        ("nginx", "nginx", "healthy", True),
        ("postgres", "postgres", "healthy", True),
        ("redis", "redis", "healthy", True),
    ]
    assert all(u["memory_limit"] > 0 for u in units)


def test_cgroup_usage_between_two_readings():
    usage = parse.cgroup_usage(text("cgroups-before.json"), text("cgroups-after.json"))
    assert len(usage) == 4
    assert all(u["cpu"] >= 0 for u in usage.values())
    assert all(u["memory_bytes"] > 0 and u["memory_limit"] > 0 for u in usage.values())


def test_cgroup_usage_of_an_unreadable_container_is_an_error():
    before = '{"monotonic": 1.0, "pids": {"7": {"error": "FileNotFoundError: /proc/7/cgroup"}}}'
    after = '{"monotonic": 2.0, "pids": {"7": {"cpu_ns": 5, "memory_bytes": 9, "memory_limit": null, "version": 2}}}'
    assert "FileNotFoundError" in parse.cgroup_usage(before, after)["7"]["error"]


def test_cpu_busy_between_two_readings_and_broken_readings():
    busy = parse.cpu_busy(text("proc-stat-before.txt"), text("proc-stat-after.txt"))
    assert 0 <= busy <= 100
    with pytest.raises(parse.ParseError):
        parse.cpu_busy(text("proc-stat-before.txt"), text("proc-stat-before.txt"))
    with pytest.raises(parse.ParseError):
        parse.cpu_busy("", text("proc-stat-after.txt"))
    with pytest.raises(parse.ParseError):
        parse.meminfo("MemTotal: 0 kB\n")


def test_ss_listeners_with_owners_and_loopback():
    found = {(e["address"], e["port"]): e for e in parse.listeners(text("ss.txt"))}
    assert found[("127.0.0.1", 5001)]["loopback"]
    assert "docker-proxy" in found[("0.0.0.0", 18443)]["text"]
    assert found[("0.0.0.0", 2024)]["text"].endswith("(owner not visible)")


def test_published_ports_leave_out_loopback_and_unpublished():
    published = parse.published_ports(data("docker-containers.json"))
    assert {p["port"] for p in published} >= {18080, 18443}
    assert all(":" in p["text"] and "->" in p["text"] for p in published)


def test_s_client_brief_negotiated_or_refused():
    tls = data("tls-stack.json")["probes"]
    assert parse.s_client_brief(tls["default"]["stdout"], tls["default"]["stderr"])["protocol"] == "TLSv1.3"
    refused = parse.s_client_brief(tls["TLSv1.1"]["stdout"], tls["TLSv1.1"]["stderr"])
    assert refused["protocol"] is None
    assert "alert" in refused["error"]


def test_certificate_names_and_matching():
    names = parse.certificate_names(["DNS:localhost", "IP:127.0.0.1", "email:x@y"])
    assert names == ["DNS:localhost", "IP:127.0.0.1"]
    assert parse.name_matches(names, "LOCALHOST")
    assert parse.name_matches(names, "127.0.0.1")
    assert not parse.name_matches(names, "127.0.0.2")
    assert not parse.name_matches(names, "example.org")
    assert parse.name_matches(["DNS:*.example.org"], "www.example.org")
    assert not parse.name_matches(["DNS:*.example.org"], "a.b.example.org")
    assert not parse.name_matches(["DNS:*.example.org"], "example.org")
    # The CN counts only without a subjectAltName.
    assert parse.certificate_names([], {"commonName": "legacy.example"}) == ["DNS:legacy.example"]


def test_trivy_reports_and_a_broken_one():
    image = parse.trivy(text("trivy-image.json"))
    assert image["secrets"]["CRITICAL"] == 0
    assert image["targets"] == 2
    assert image["misconfigurations"]["LOW"] == 1
    config = parse.trivy(text("trivy-config.json"))
    assert config["targets"] == 1
    assert sum(config["misconfigurations"].values()) == 0
    for broken in ("", "{}", "2024-01-01T00:00:00Z FATAL image scan error"):
        with pytest.raises(parse.ParseError):
            parse.trivy(broken)


def test_pip_audit_counts_what_it_could_not_audit():
    clean = parse.pip_audit(text("pip-audit-clean.json"))
    # Recorded offline: PyPI's JSON API does not answer here, so pip-audit audited nothing (and still exited 0).
    assert clean["audited"] == 0
    assert len(clean["skipped"]) == clean["packages"] > 5
    with pytest.raises(parse.ParseError):
        parse.pip_audit("No known vulnerabilities found")


def test_apt_pending_updates_and_their_security_share():
    host = parse.apt_pending(text("apt-host-policy.txt"), text("apt-host-upgrade.txt"))
    assert len(host["pending"]) == 143
    assert len(host["security"]) == 92
    assert host["security"][0]["candidate"] == "1.10.1-3+deb12u1"
    policy, _, simulation = text("apt-image.txt").partition("\n===\n")
    assert parse.apt_pending(policy, simulation)["pending"] == []
    # No package index for the image's sources: apt sees nothing to upgrade, which proves nothing.
    policy, _, simulation = text("apt-image-noindex.txt").partition("\n===\n")
    with pytest.raises(parse.ParseError, match="no package index"):
        parse.apt_pending(policy, simulation)


def test_audit_outputs():
    status = parse.auditctl_status(text("auditctl-status.txt"))
    assert status["enabled"]
    assert status["pid"] > 0
    assert set(parse.auditctl_rules(text("auditctl-rules.txt"))) == {"iac-docker", "iac-sudo", "iac-sshd"}
    assert "iac-docker" in parse.audit_last_events(text("audit-log.txt"))
    with pytest.raises(parse.ParseError):
        parse.auditctl_status("You must be root to run this program.")


def test_k8s_audit_last_event_is_the_newest_complete_event():
    # The fixture ends with a line still being written (cut JSON): passed over.
    last = parse.k8s_audit_last_event(text("k8s-audit-log.txt"))
    assert last == parse.moment("2026-12-02T11:47:08.412377Z").timestamp()
    assert parse.k8s_audit_last_event("") is None
    assert parse.k8s_audit_last_event('{"kind": "Status"}\nnot json\n') is None


def test_nginx_access_lines_carry_client_request_and_status():
    entries = parse.nginx_access_lines(text("nginx-logs.txt"))
    assert len(entries) > 100
    assert {"remote", "method", "uri", "status"} <= entries[0].keys()
    assert parse.nginx_access_lines("2026/12/02 11:46:32 [notice] 1#1: signal process started\n") == []


def test_prometheus_vectors_and_errors():
    assert parse.prometheus_vector(data("prometheus-failures.json")) == [({}, 1.0)]
    assert parse.prometheus_vector(data("prometheus-empty.json")) == []
    with pytest.raises(parse.ParseError, match="parse error"):
        parse.prometheus_vector(data("prometheus-bad-query.json"))
    with pytest.raises(parse.ParseError):
        parse.prometheus_vector("<html>502 Bad Gateway</html>")


def test_timestamps_of_every_tool():
    assert parse.moment("2026-12-02T11:41:33.123456789Z").isoformat() == "2026-12-02T11:41:33.123456+00:00"
    assert parse.moment("20271202114133Z").year == 2027
    with pytest.raises(parse.ParseError):
        parse.moment("yesterday")
