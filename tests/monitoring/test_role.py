"""The role on a host that already has its files: a second run and a check run change nothing, and a changed SLO
rewrites the rules (and only them)."""

from __future__ import annotations

import yaml
from conftest import render
from iac_testlib.ansible import playbook


def run(directory, name, *args, **settings):
    return playbook(
        "tests/monitoring/render.yml",
        *args,
        inventory="inventories/local",
        extra_vars={"monitoring_config_dir": str(directory), **settings},
        name=name,
    )


def test_a_second_run_and_a_check_run_change_nothing_and_a_new_slo_rewrites_the_rules(tmp_path):
    directory = render(tmp_path / "config", "render-first")
    again = run(directory, "render-second")
    assert again.returncode == 0, again.tail()
    assert again.changed == 0, again.tail()
    checked = run(directory, "render-check", "--check", "--diff")
    assert checked.returncode == 0, checked.tail()
    assert checked.changed == 0, checked.tail()
    before = {path: path.read_bytes() for path in directory.rglob("*.yml")}
    tighter = run(directory, "render-new-slo", slo_availability_percent=99.95)
    assert tighter.returncode == 0, tighter.tail()
    assert tighter.changed == 1, tighter.tail()
    changed = [path.name for path, text in before.items() if path.read_bytes() != text]
    assert changed == ["slo.yml"]
    rules = yaml.safe_load((directory / "prometheus/rules/slo.yml").read_text())
    budget = next(
        r
        for g in rules["groups"]
        for r in g["rules"]
        if r.get("record") == "slo:error_budget:ratio" and r["labels"]["slo"] == "availability"
    )
    assert budget["expr"] == "vector(0.0005)"
