"""The generated rules under promtool (from the Prometheus image): `check rules`, `check config`, and unit tests
in which every alert fires on a breaching series and stays silent on a healthy one, and fails them when broken."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from monitoring_helpers import promtool

HERE = Path(__file__).resolve().parent
TESTS = sorted((HERE / "promtool").glob("*.test.yml"))


def alert_rules(rules: dict):
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def unit_test_dir(tmp_path: Path, rules: dict, mutate=None) -> Path:
    """The promtool tests beside the rules as `slo.yml`. The tests check labels; promtool would also compare
    annotations, the prose of which the unit tests of the generator cover, so they are left out here."""
    tmp_path.chmod(0o755)  # promtool runs as the image's user
    rules = yaml.safe_load(yaml.safe_dump(rules))
    for rule in alert_rules(rules):
        rule.pop("annotations", None)
        if mutate:
            rule["expr"] = mutate
    (tmp_path / "slo.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    for test in TESTS:
        shutil.copy(test, tmp_path)
    return tmp_path


def failing_alerts(output: str) -> set[str]:
    return set(re.findall(r"alertname: (\w+), time:", output))


@pytest.fixture(scope="module")
def rules(rendered) -> dict:
    return yaml.safe_load((rendered / "prometheus/rules/slo.yml").read_text())


def test_promtool_checks_the_rules(prometheus_image, rendered):
    done = promtool(prometheus_image, rendered / "prometheus", "check", "rules", "rules/slo.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"SUCCESS: \d+ rules found", done.stdout)


def test_promtool_checks_the_configuration_and_its_rule_files(prometheus_image, rendered):
    done = promtool(prometheus_image, rendered / "prometheus", "check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout


def test_promtool_refuses_a_broken_expression(prometheus_image, rendered, tmp_path, rules):
    broken = yaml.safe_load(yaml.safe_dump(rules))
    alert_rules(broken)[0]["expr"] = "sum(rate(webapp_http_requests_total[5m]) >"
    (tmp_path / "slo.yml").write_text(yaml.safe_dump(broken))
    tmp_path.chmod(0o755)
    done = promtool(prometheus_image, tmp_path, "check", "rules", "slo.yml")
    assert done.returncode != 0
    assert "parse error" in done.stdout + done.stderr


def test_every_alert_has_a_firing_and_a_silent_case():
    """Read from the test files: each alert name has a case that expects it and one that expects nothing."""
    expected, silent = set(), set()
    for test in TESTS:
        for case in yaml.safe_load(test.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (expected if check["exp_alerts"] else silent).add(check["alertname"])
    assert expected == silent, "alerts with only one of the two cases"


def test_every_alert_is_tested(rules):
    names = {rule["alert"] for rule in alert_rules(rules)}
    tested = {
        check["alertname"]
        for test in TESTS
        for case in yaml.safe_load(test.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
    }
    assert names - tested == set(), "alerts without a promtool test"


def test_the_promtool_unit_tests_pass(prometheus_image, rules, tmp_path):
    workdir = unit_test_dir(tmp_path, rules)
    done = promtool(prometheus_image, workdir, "test", "rules", *(t.name for t in TESTS))
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert done.stdout.count("SUCCESS") == len(TESTS)


@pytest.mark.parametrize(
    ("mutation", "meaning"),
    [("vector(0) > 1", "never fires"), ("vector(1)", "always fires")],
)
def test_a_broken_alert_fails_its_unit_tests(prometheus_image, rules, tmp_path, mutation, meaning):
    """Every alert expression replaced by one that {meaning}: each alert is named by a failing case."""
    workdir = unit_test_dir(tmp_path, rules, mutate=mutation)
    done = promtool(prometheus_image, workdir, "test", "rules", *(t.name for t in TESTS))
    assert done.returncode != 0
    names = {rule["alert"] for rule in alert_rules(rules)}
    assert names - failing_alerts(done.stdout + done.stderr) == set(), f"alerts whose tests pass when it {meaning}"
