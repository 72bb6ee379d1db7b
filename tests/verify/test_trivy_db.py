"""The vulnerability gate's data path, offline and real: a trivy DB built here with trivy-db's own code
(artifacts/trivy-db-fixture) and the project's trivy artifact scanning the app image of the deployed stack.

A synthetic CRITICAL advisory for a Debian package installed in the image and one for a Python package pinned in
app/requirements.txt must be reported with the package and the installed version; advisories for the same packages
that do not cover the installed versions must give no finding at all. The scans run without any network.

`trivy_db` is the reusable fixture: `trivy_db(advisories)` returns a trivy cache directory whose db/ holds a DB of
those advisories (pass it to trivy as --cache-dir, or point verify_trivy_db_src at its db/, as the last test does:
the verify playbook's vulnerability gate fails and passes on it).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime

import pytest
from iac_testlib import trivy
from iac_testlib.project import ROOT, settings

DEB_PACKAGE = "bash"  # Essential in Debian: every image of the project has it
PIP_PACKAGE = "flask"


@pytest.fixture(scope="session")
def trivy_artifacts():
    trivy.build_artifacts()


@pytest.fixture
def trivy_db(trivy_artifacts, tmp_path_factory):
    """Factory: trivy_db(advisories) -> a trivy cache directory holding a real DB of those advisories."""

    def make(advisories):
        cache = tmp_path_factory.mktemp("trivy-cache")
        run = trivy.make_db(cache, advisories)
        assert run.returncode == 0, f"trivy-db-fixture failed: {run.stderr}"
        return cache

    return make


@pytest.fixture(scope="session")
def app_image():
    """The image the deployed stack's app (the flask service or one of its colours) runs."""
    out = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={settings()['app_project']}",
            "--format",
            '{{.Image}}\t{{.Label "com.docker.compose.service"}}',
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    images = sorted({line.split("\t")[0] for line in out.splitlines() if line.split("\t")[-1].startswith("flask")})
    if not images:
        pytest.fail(f"no running app container in compose project {settings()['app_project']}: run `make deploy`")
    return images[0]


@pytest.fixture(scope="session")
def installed(app_image):
    """What the advisories target: a Debian package as dpkg knows it in the image, and the app's pin of flask."""
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", (ROOT / "app" / "requirements.txt").read_text(), re.M))
    return {
        "release": trivy.debian_release(app_image),
        "deb": trivy.installed_deb(app_image, DEB_PACKAGE),
        "pip": pins[PIP_PACKAGE],
    }


def advisories(installed, *, matching):
    """A CRITICAL advisory for each targeted package: fixed after the installed version (matching) or at it."""
    deb = installed["deb"]
    # Debian advisories name the source package; trivy compares the source version with the fixed version, and
    # `<version>+iac1` sorts right after `<version>`.
    fixed = deb["source_version"] + ("+iac1" if matching else "")
    pip_range = f"=={installed['pip']}" if matching else f"<{installed['pip']}"
    return [
        {
            "id": "CVE-2099-0001",
            "ecosystem": "debian",
            "release": installed["release"],
            "package": deb["source"],
            "fixed_version": fixed,
            "severity": "CRITICAL",
            "title": "synthetic advisory (test fixture)",
        },
        {
            "id": "GHSA-iacx-0000-0001",
            "ecosystem": "pip",
            "package": PIP_PACKAGE,
            "vulnerable_versions": [pip_range],
            "severity": "CRITICAL",
            "title": "synthetic advisory (test fixture)",
        },
    ]


def scan(app_image, cache):
    run = trivy.scan(app_image, cache)
    assert run.returncode == 0, f"trivy failed (rc={run.returncode}): {run.stderr[-2000:]}"
    return json.loads(run.stdout)


def test_fixture_db_has_the_schema_trivy_reads(trivy_db, installed):
    meta = json.loads((trivy_db(advisories(installed, matching=True)) / "db" / "metadata.json").read_text())
    schema = subprocess.run([str(trivy.GENERATOR), "-schema-version"], check=True, capture_output=True, text=True)
    assert meta["Version"] == int(schema.stdout) == 2
    # NextUpdate in the future: a trivy run without --skip-db-update takes the DB as current, too.
    assert datetime.fromisoformat(meta["NextUpdate"][:19]) > datetime.now(UTC).replace(tzinfo=None)


def test_matching_advisories_are_reported_critical_with_package_and_version(trivy_db, app_image, installed):
    report = scan(app_image, trivy_db(advisories(installed, matching=True)))
    found = {
        (v["VulnerabilityID"], v["PkgName"].lower(), v["InstalledVersion"], v["Severity"], v["Type"])
        for v in trivy.vulnerabilities(report)
    }
    assert found == {
        ("CVE-2099-0001", installed["deb"]["name"], installed["deb"]["version"], "CRITICAL", "debian"),
        ("GHSA-iacx-0000-0001", PIP_PACKAGE, installed["pip"], "CRITICAL", "python-pkg"),
    }, json.dumps(report.get("Results"), indent=1)[:4000]


def test_advisories_that_miss_the_installed_versions_report_nothing(trivy_db, app_image, installed):
    report = scan(app_image, trivy_db(advisories(installed, matching=False)))
    # The image's OS and its Python packages were scanned (so 0 is a measurement, not a scan that saw nothing).
    assert {r.get("Type") for r in report.get("Results") or []} >= {"debian", "python-pkg"}, report
    assert trivy.vulnerabilities(report) == []


def test_offline_scan_without_a_db_fails(trivy_artifacts, app_image, tmp_path):
    run = trivy.scan(app_image, tmp_path)
    assert run.returncode != 0
    assert "--skip-db-update cannot be specified on the first run" in run.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [({"severity": "SEVERE"}, "severity"), ({"ecosystem": "cobol"}, "ecosystem"), ({"release": ""}, "release")],
)
def test_generator_refuses_bad_advisories_naming_the_field(trivy_artifacts, installed, tmp_path, change, named):
    bad = [{**advisories(installed, matching=True)[0], **change}]
    run = trivy.make_db(tmp_path, bad)
    assert run.returncode == 1
    assert named in run.stderr
    assert not (tmp_path / "db" / "trivy.db").exists()


@pytest.mark.parametrize("matching", [True, False], ids=["critical-advisories-match", "advisories-miss"])
def test_verify_gates_on_the_db_that_verify_trivy_db_src_brings(verify, trivy_db, installed, tmp_path, matching):
    """The air-gapped path end to end: verify_trivy_db_src names a fixture DB on the control node, the role copies
    it into its trivy cache (here a directory of this test, not the host's /var/cache/trivy) and scans the deployed
    images with it. Matching CRITICAL advisories fail the app's security.image_vulnerabilities_<unit> naming each
    package and version; the same advisories at the installed versions give it PASS with 0 findings."""
    cache = tmp_path / "host-trivy-cache"
    run = verify(
        "--tags",
        "security",
        extra={
            "verify_trivy_db_src": str(trivy_db(advisories(installed, matching=matching)) / "db"),
            "verify_trivy_cache_dir": str(cache),
            # Only the image scans matter here: no pip-audit, no trivy config of the project's files.
            "verify_pip_audit": False,
            "verify_trivy_config_paths": [],
        },
        name=f"trivy-db-src-{'match' if matching else 'miss'}",
    )
    assert (cache / "db" / "trivy.db").is_file(), run.explain()
    prefix = "security.image_vulnerabilities_"
    app = [c for c in run.report.get("checks", []) if c["name"].startswith(f"{prefix}{PIP_PACKAGE}")]
    assert app, run.explain()
    for check in app:
        assert "DB of " in check["detail"], check
        if matching:
            assert (check["status"], check["value"]) == ("fail", 2), check
            assert check["name"] in run.failed
            assert f"CVE-2099-0001 {installed['deb']['name']}@{installed['deb']['version']}" in check["detail"], check
            assert f"ghsa-iacx-0000-0001 {PIP_PACKAGE}@{installed['pip']}" in check["detail"].lower(), check
        else:
            assert (check["status"], check["value"]) == ("pass", 0), check
            assert "CVE-2099-0001" not in check["detail"], check
    if matching:
        assert run.returncode != 0, run.explain()
        assert "RESULT: FAIL" in run.output
