"""tests/run-all, the stage runner of `make test`: what it refuses and which stages it picks."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys

from iac_testlib.project import ROOT

RUN_ALL = ROOT / "tests" / "run-all"


def load():
    loader = importlib.machinery.SourceFileLoader("run_all", str(RUN_ALL))
    spec = importlib.util.spec_from_loader("run_all", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


def test_an_unknown_stage_name_is_an_error_before_anything_runs():
    argv = [sys.executable, str(RUN_ALL), "nosuchstage"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
    assert "unknown stage(s) nosuchstage" in done.stderr
    assert "make" not in done.stdout


def test_a_named_stage_brings_the_stages_it_needs():
    run_all = load()
    assert [s.name for s in run_all.selected(["app-k8s"])] == ["venv", "engine", "k8s-build", "k8s", "app-k8s"]


def test_every_need_is_a_stage_listed_before_it():
    run_all = load()
    seen = set()
    for stage in run_all.STAGES:
        assert set(stage.needs) <= seen, stage.name
        seen.add(stage.name)


def test_stages_that_measure_speed_run_alone():
    assert [s.name for s in load().STAGES if s.quiet] == ["deploy"]


def test_a_quiet_stage_first_stops_what_else_loads_the_machine():
    run_all = load()
    assert run_all.stage_command(run_all.BY_NAME["deploy"]) == ["make", "--no-print-directory", "quiet", "deploy"]
    assert run_all.stage_command(run_all.BY_NAME["stack"]) == ["make", "--no-print-directory", "test-stack"]
    assert run_all.stage_command(run_all.BY_NAME["k8s-build"])[:3] == ["nice", "-n", "10"]
