"""Real trivy vulnerability DBs made at test time, and offline trivy image scans against them.

The DBs come from the `trivy-db-fixture` artifact (artifacts/trivy-db-fixture: trivy-db's own Go code, pinned to the
trivy-db version the trivy artifact is built with), so trivy reads them exactly as it reads the official DB. Scans
run in a network namespace of their own: a scan that passes here needs no network at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .project import ROOT

ARTIFACTS_DIR = Path(
    os.environ.get("ARTIFACTS_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "iac/artifacts"
)
TRIVY = ARTIFACTS_DIR / "trivy" / "trivy"
GENERATOR = ARTIFACTS_DIR / "trivy-db-fixture" / "trivy-db-fixture"

# What trivy needs to scan an image with nothing but a DB in <cache-dir>/db: no DB download (an official DB fetched
# with oras or copied from a tarball has no DownloadedAt, and trivy would fetch a new one without this flag), no
# Java DB download (asked for only when the image holds jar files), no remote lookups of Maven metadata, no version
# check and no telemetry (both call check.trivy.dev).
OFFLINE_FLAGS = (
    "--skip-db-update",
    "--skip-java-db-update",
    "--offline-scan",
    "--skip-version-check",
    "--disable-telemetry",
)


def build_artifacts() -> None:
    """Build (or find cached) trivy and the DB generator with artifacts/build; a second caller waits on its lock."""
    subprocess.run([str(ROOT / "artifacts" / "build"), "trivy", "trivy-db-fixture"], check=True)


def make_db(cache_dir: Path, advisories: list[dict], valid_for: str = "720h") -> subprocess.CompletedProcess:
    """Write a trivy DB holding `advisories` (the generator's spec, see artifacts/trivy-db-fixture/main.go) into
    <cache_dir>/db; returns the generator's run (check its returncode)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    spec = cache_dir / "advisories.json"
    spec.write_text(json.dumps({"valid_for": valid_for, "advisories": advisories}, indent=1))
    return subprocess.run(
        [str(GENERATOR), "-spec", str(spec), "-out", str(cache_dir / "db")], check=False, capture_output=True, text=True
    )


def scan_argv(image: str, cache_dir: Path) -> list[str]:
    """The offline vulnerability scan of a local Docker image with the DB in <cache_dir>/db."""
    return [
        str(TRIVY),
        "image",
        "--format",
        "json",
        "--quiet",
        "--image-src",
        "docker",
        "--cache-backend",
        "memory",
        "--cache-dir",
        str(cache_dir),
        "--scanners",
        "vuln",
        *OFFLINE_FLAGS,
        image,
    ]


def scan(image: str, cache_dir: Path) -> subprocess.CompletedProcess:
    """Run the scan with no network (`unshare --net`; the Docker socket is a file, so the image is still read)."""
    return subprocess.run(
        ["unshare", "--net", *scan_argv(image, cache_dir)], check=False, capture_output=True, text=True, timeout=600
    )


def vulnerabilities(report: dict) -> list[dict]:
    """Every vulnerability of a trivy JSON report, each with the Target and Type of its result."""
    return [
        {**vuln, "Target": result.get("Target"), "Type": result.get("Type")}
        for result in report.get("Results") or []
        for vuln in result.get("Vulnerabilities") or []
    ]


def installed_deb(image: str, package: str) -> dict[str, str]:
    """Name, version, source package and source version of a Debian package installed in an image."""
    out = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "dpkg-query",
            image,
            "--show",
            "--showformat",
            "${Package}\t${Version}\t${source:Package}\t${source:Version}",
            package,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name, version, source, source_version = out.strip().split("\t")
    return {"name": name, "version": version, "source": source, "source_version": source_version}


def debian_release(image: str) -> str:
    """The major Debian release of an image (trivy's bucket is `debian <major>`)."""
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "cat", image, "/etc/debian_version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().split(".")[0]
