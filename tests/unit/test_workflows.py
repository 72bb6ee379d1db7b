"""The GitHub workflows against the project: they call make targets that exist, ci.yml runs every stage of
tests/run-all, every action is pinned to a commit, and each job holds only the permissions it needs."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from iac_testlib.project import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))

# The only job allowed a write scope, and the scope: the release's push of its images.
WRITE_SCOPES = {("release.yml", "images"): {"packages"}}

MAKE = re.compile(r"(?:^|[\s;&|(])make\s+(?P<args>[^|;&)\n]*)")
COMMENT = re.compile(r"(?:^|\s)#.*$")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$", re.MULTILINE)
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}$")


def load(path):
    return yaml.safe_load(path.read_text())


def steps_of(path) -> list[dict]:
    doc = load(path)
    if path.name == "action.yml":
        return doc["runs"].get("steps", [])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def make_targets_in(script: str) -> list[str]:
    """The targets of every `make` command in a run: block (options and VAR=value arguments left out)."""
    targets = []
    for line in script.splitlines():
        for match in MAKE.finditer(COMMENT.sub("", line)):
            args = match.group("args").split(" 2>", 1)[0]
            try:
                words = shlex.split(args)
            except ValueError:
                words = args.split()
            targets += [word for word in words if not word.startswith("-") and "=" not in word]
    return targets


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {name for name in re.findall(r"^([A-Za-z0-9_.-]+):(?![:=])", text, re.MULTILINE) if name != ".PHONY"}


def run_all_stages() -> dict[str, str]:
    """tests/run-all's STAGES table: stage name -> make target."""
    text = (ROOT / "tests" / "run-all").read_text()
    table = re.search(r"^STAGES = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert table, "tests/run-all has no STAGES = [ ... ] table"
    return dict(re.findall(r'Stage\("([^"]+)", "([^"]+)"', table.group(1)))


def workflow_make_targets(path) -> list[str]:
    return [target for step in steps_of(path) if "run" in step for target in make_targets_in(step["run"])]


def test_the_workflows_are_there():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "release.yml"}


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda path: str(path.relative_to(GITHUB)))
def test_every_make_target_a_workflow_runs_exists(path):
    missing = sorted(set(workflow_make_targets(path)) - makefile_targets())
    assert not missing, f"{path.relative_to(ROOT)} runs make targets the Makefile does not have: {missing}"


def test_the_parsers_see_targets_and_stages():
    assert make_targets_in(".ci/as-root make test-app 2>&1 | tee reports/app.log") == ["test-app"]
    assert make_targets_in('make release-images RELEASE_TAG="$T" RELEASE_ARGS="-e @x" 2>&1 |') == ["release-images"]
    assert make_targets_in("nice -n 10 make -s artifacts && make verify") == ["artifacts", "verify"]
    assert make_targets_in("# make nothing here\necho cmake") == []
    assert {"lint", "deploy", "k8s"} <= set(run_all_stages())
    assert {"lint", "deploy", "release-images", "test-k8s"} <= makefile_targets()


def test_ci_runs_every_stage_of_run_all():
    in_ci = set(workflow_make_targets(GITHUB / "workflows" / "ci.yml"))
    missing = {stage: target for stage, target in run_all_stages().items() if target not in in_ci}
    assert not missing, f"stages of tests/run-all that no ci.yml job runs (stage: make target): {missing}"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda path: str(path.relative_to(GITHUB)))
def test_every_action_is_pinned_to_a_commit_with_its_version(path):
    text = path.read_text()
    refs = list(USES.finditer(text))
    parsed = [step["uses"] for step in steps_of(path) if "uses" in step]
    if path.name != "action.yml":
        parsed += [job["uses"] for job in load(path)["jobs"].values() if "uses" in job]
    # Every uses: the YAML holds was found as a line, so none escapes the check below.
    assert sorted(match["ref"] for match in refs) == sorted(parsed)
    for match in refs:
        if match["ref"].startswith("./"):
            continue
        assert PINNED.match(match["ref"]), f"{path.name}: {match['ref']} is not pinned to a 40-hex commit SHA"
        assert re.match(r"v\d+(\.\d+)*\b", match["comment"] or ""), f"{path.name}: {match['ref']} has no # vX.Y.Z"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_job_holds_only_the_permissions_it_needs(path):
    doc = load(path)
    assert doc.get("permissions") == {}, f"{path.name}: the workflow must grant nothing by default (permissions: {{}})"
    for name, job in doc["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path.name}: job {name} states no permissions"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        allowed = WRITE_SCOPES.get((path.name, name), set())
        assert writes <= allowed, f"{path.name}: job {name} may write {sorted(writes - allowed)}"
