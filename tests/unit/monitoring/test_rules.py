"""The rule generator: SLOs from slo.yml in, Prometheus rules out, and every bad setting named."""

from __future__ import annotations

import ast
import re

import pytest
import yaml
from ansible_collections.iac.core.plugins.module_utils import monitoring_rules as mr
from iac_testlib.project import ROOT


def rule(generated: dict, name: str, **labels) -> dict:
    found = [
        r
        for group in generated["groups"]
        for r in group["rules"]
        if name in (r.get("record"), r.get("alert")) and all(r.get("labels", {}).get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, f"{name} {labels}: {len(found)} rules"
    return found[0]


def thresholds(expr: str) -> list[float]:
    return [float(n) for n in re.findall(r"> ([0-9.e-]+)", expr)]


def test_the_project_settings_are_good(project):
    assert mr.settings_errors(project) == []


def test_the_histogram_buckets_are_the_apps():
    tree = ast.parse((ROOT / "app/src/webapp/metrics.py").read_text())
    call = next(
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Histogram"
    )
    buckets = next(kw.value for kw in call.keywords if kw.arg == "buckets")
    assert tuple(ast.literal_eval(buckets)) == mr.APP_LATENCY_BUCKETS


def test_every_slo_is_recorded_over_every_window(project):
    generated = mr.rules(project)
    for slo in ("availability", "latency-p95", "latency-p99"):
        for window in (*mr.WINDOWS, "30d"):
            rule(generated, f"slo:sli_error:ratio_rate{window}", slo=slo)
        assert rule(generated, "slo:time_period:days", slo=slo)["expr"] == "vector(30)"
        rule(generated, "slo:period_error_budget_remaining:ratio", slo=slo)
    assert rule(generated, "slo:objective:ratio", slo="availability")["expr"] == "vector(0.999)"
    assert rule(generated, "slo:error_budget:ratio", slo="latency-p99")["expr"] == "vector(0.01)"


def test_the_availability_sli_counts_5xx_and_leaves_out_scrapes_and_liveness(project):
    expr = rule(mr.rules(project), "slo:sli_errors:rate5m", slo="availability")["expr"]
    assert 'status=~"5.."' in expr
    assert 'route!~"/metrics|/health"' in expr
    assert 'job="app"' in expr


def test_the_latency_sli_counts_requests_above_the_threshold_bucket(project):
    expr = rule(mr.rules(project), "slo:sli_errors:rate5m", slo="latency-p99")["expr"]
    assert 'webapp_http_request_duration_seconds_bucket{job="app",route!~"/metrics|/health",le="0.1"}' in expr
    project["slo_latency_p99_ms"] = 1000
    expr = rule(mr.rules(project), "slo:sli_errors:rate5m", slo="latency-p99")["expr"]
    assert 'le="1.0"' in expr, "prometheus-client writes whole bounds as 1.0"


def test_burn_rate_alerts_page_at_14_4_and_6_and_ticket_at_3_and_1_over_30_days(project):
    generated = mr.rules(project)
    fast = rule(generated, "AvailabilityBudgetBurnFast")
    slow = rule(generated, "AvailabilityBudgetBurnSlow")
    assert thresholds(fast["expr"]) == pytest.approx([0.0144, 0.0144, 0.006, 0.006])
    assert thresholds(slow["expr"]) == pytest.approx([0.003, 0.003, 0.001, 0.001])
    assert re.findall(r"ratio_rate(\w+)\{", fast["expr"]) == ["1h", "5m", "6h", "30m"]
    assert re.findall(r"ratio_rate(\w+)\{", slow["expr"]) == ["1d", "2h", "3d", "6h"]
    assert (fast["labels"], slow["labels"]) == (
        {"severity": "critical", "slo": "availability"},
        {"severity": "warning", "slo": "availability"},
    )
    assert thresholds(rule(generated, "LatencyP99BudgetBurnFast")["expr"]) == pytest.approx([0.144, 0.144, 0.06, 0.06])


def test_burn_factors_follow_the_window(project):
    project["slo_window_days"] = 7
    project["monitoring_retention_time"] = "7d"
    fast = rule(mr.rules(project), "AvailabilityBudgetBurnFast")
    # 2 % of a 7-day budget in 1 h is a burn rate of 3.36, 5 % in 6 h one of 1.4.
    assert thresholds(fast["expr"]) == pytest.approx([0.00336, 0.00336, 0.0014, 0.0014])


def test_every_alert_has_a_severity_an_slo_and_words_for_a_person(project):
    generated = mr.rules(project)
    alerts = [r for group in generated["groups"] for r in group["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {
        "AvailabilityBudgetBurnFast",
        "LatencyP95BudgetBurnSlow",
        "TargetDown",
        "ContainerUnhealthy",
        "ContainerRestarting",
        "CertificateExpiresSoon",
        "DiskFull",
    }
    for alert in alerts:
        assert alert["labels"]["severity"] in ("critical", "warning"), alert["alert"]
        assert alert["labels"]["slo"] in (
            "availability",
            "latency-p95",
            "latency-p99",
            "cpu",
            "memory",
            "mtbf",
            "certificate",
        ), alert["alert"]
        assert len(alert["annotations"]["summary"]) > 20, alert["alert"]
        assert len(alert["annotations"]["description"]) > 60, alert["alert"]


def test_thresholds_come_from_the_slo_settings(project):
    project.update(slo_certificate_min_days=21, slo_cpu_percent=55, monitoring_disk_free_percent=15)
    generated = mr.rules(project)
    assert rule(generated, "CertificateExpiresSoon")["expr"].endswith("< 21")
    assert rule(generated, "ContainerCPUHigh")["expr"].endswith("> 0.55")
    assert rule(generated, "DiskFull")["expr"].endswith("< 0.15")
    assert "slo_certificate_min_days" in rule(generated, "CertificateExpiresSoon")["annotations"]["description"]


def test_the_yaml_is_the_rules_without_aliases(project):
    text = mr.rules_yaml(project)
    assert text.startswith("# Generated by the monitoring role")
    assert not re.search(r"[&*]id\d", text)
    assert yaml.safe_load(text) == mr.rules(project)
    assert mr.alert_names(project)[0] == "AvailabilityBudgetBurnFast"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"slo_availability_percent": 100}, "slo_availability_percent: must be < 100"),
        ({"slo_availability_percent": "99.9"}, "slo_availability_percent: must be a number"),
        ({"slo_latency_p95_ms": 120}, "slo_latency_p95_ms: 120 ms is not a bucket"),
        ({"slo_latency_p99_ms": 0}, "slo_latency_p99_ms: must be > 0"),
        ({"slo_cpu_percent": 101}, "slo_cpu_percent: must be <= 100"),
        ({"slo_window_days": 2}, "slo_window_days: must be a whole number of days >= 3"),
        ({"slo_window_days": 30.5}, "slo_window_days: must be a whole number"),
        ({"monitoring_scrape_interval": "15 s"}, "monitoring_scrape_interval: must be a Prometheus duration"),
        ({"monitoring_scrape_interval": "10m"}, "monitoring_scrape_interval: must be at most 5m"),
        ({"monitoring_evaluation_interval": ""}, "monitoring_evaluation_interval: must be a Prometheus duration"),
        ({"monitoring_retention_time": "7d"}, "monitoring_retention_time: 7d keeps less than the SLO window"),
        ({"monitoring_retention_size": "10G"}, "monitoring_retention_size: must be empty or a size"),
        ({"monitoring_alertmanager_receiver": "pager"}, "monitoring_alertmanager_receiver: must be one of"),
        ({"monitoring_alertmanager_webhook_url": "ftp://x"}, "monitoring_alertmanager_webhook_url: must be empty or"),
        ({"monitoring_alertmanager_receiver": "email"}, "monitoring_alertmanager_email_to: must be an e-mail"),
        ({"monitoring_alertmanager_receiver": "chat"}, "monitoring_alertmanager_chat_webhook_url: must be set"),
        ({"monitoring_sli_excluded_routes": "/metrics"}, "monitoring_sli_excluded_routes: must be a list"),
        ({"monitoring_disk_free_percent": 0}, "monitoring_disk_free_percent: must be > 0"),
        ({"monitoring_app_job": "flask"}, "monitoring_app_job: 'flask' is not the job of any entry"),
        (
            {"monitoring_probe_job": "blackbox-https"},
            "monitoring_probe_job: 'blackbox-https' is not the job of any entry of monitoring_probes",
        ),
        (
            {"monitoring_probes": [{"job": "p", "module": "icmp", "targets": ["https://x/"]}]},
            "monitoring_probes[0].module",
        ),
        (
            {"monitoring_probes": [{"job": "p", "module": "http_2xx", "targets": ["x:80"]}]},
            "monitoring_probes[0].targets",
        ),
        (
            {"monitoring_scrape_targets": [{"job": "app", "targets": ["flask-service"]}]},
            "monitoring_scrape_targets[0].targets: 'flask-service' is not host:port",
        ),
        (
            {"monitoring_scrape_targets": [{"job": "app", "targets": ["a:1"]}, {"job": "app", "targets": ["b:1"]}]},
            "monitoring_scrape_targets[1].job: 'app' is used twice",
        ),
        (
            {"monitoring_scrape_targets": [{"job": "app", "dns": {"names": ["flask-service"], "port": "5000"}}]},
            "monitoring_scrape_targets[0].dns.port: must be a port number",
        ),
        (
            {"monitoring_scrape_targets": [{"job": "app", "targets": ["a:1"], "dns": {"names": ["a"], "port": 1}}]},
            "monitoring_scrape_targets[0]: needs either targets",
        ),
        # A 10 % budget cannot burn 14.4x as fast: the page could never fire.
        ({"slo_availability_percent": 90}, "slo_availability_percent: an error budget of 10 % over 30 d cannot burn"),
    ],
)
def test_a_bad_setting_is_named(project, change, named):
    project.update(change)
    errors = mr.settings_errors(project)
    assert any(error.startswith(named) for error in errors), errors
    with pytest.raises(mr.SettingsError, match=re.escape(named)):
        mr.rules(project)


def test_an_email_receiver_with_its_settings_is_good(project):
    project.update(
        monitoring_alertmanager_receiver="email",
        monitoring_alertmanager_email_to="ops@example.org",
        monitoring_alertmanager_email_from="alerts@example.org",
        monitoring_alertmanager_email_smarthost="smtp.example.org:587",
    )
    assert mr.settings_errors(project) == []


@pytest.mark.parametrize(("text", "value"), [("15s", 15), ("1h30m", 5400), ("30d", 2592000), ("500ms", 0.5)])
def test_durations(text, value):
    assert mr.seconds(text) == value


@pytest.mark.parametrize("text", ["", "15", "1.5h", "m", None])
def test_not_durations(text):
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        mr.seconds(text)
