"""Helpers of the monitoring tests: the monitoring images built from the project's Debian base (by content, so a
second session reuses them), containers started for one test and removed after it, and the rendered configuration.

The images are built here by hand (`docker build`, at low priority) from roles/monitoring/files/images/<name>; the
deployment will build them through container_images.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from iac_testlib.project import ROOT

IMAGES_DIR = ROOT / "roles/monitoring/files/images"
IMAGES = sorted(path.name for path in IMAGES_DIR.iterdir() if (path / "Dockerfile").exists())
BASE_IMAGE = "iac/debian:bookworm"
BOOTSTRAP = ROOT / "roles/container_images/files/bootstrap-debian-base.sh"
# The uid:gid every monitoring image runs as (files/images/*/Dockerfile).
IMAGE_USER = "990:990"
# The project's service images, as real services for the exporters to read.
SERVICE_IMAGES = ROOT / "roles/container_images/files/images"


def docker(*args: str, check: bool = True, timeout: int = 120, input_text: str | None = None):
    done = subprocess.run(
        ["docker", *args], input=input_text, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)}: rc={done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done


def base_image_id() -> str:
    """The project's Debian base, bootstrapped here the way container_images does when this machine has none."""
    found = docker("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE, check=False)
    if found.returncode != 0:
        if subprocess.run(["which", "debootstrap"], capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, capture_output=True)
        subprocess.run(["nice", "-n", "10", "bash", str(BOOTSTRAP), "bookworm", BASE_IMAGE], check=True, timeout=900)
        found = docker("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE)
    return found.stdout.strip()


def image(name: str, context: Path | None = None) -> str:
    """The reference of monitoring image `name` (or of the image of another build `context`), built unless an image
    of the same context and base exists."""
    kind = "service" if context else "monitoring"
    context = context or IMAGES_DIR / name
    digest = hashlib.sha256(base_image_id().encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0" + path.read_bytes())
    ref = f"iac-test/{kind}-{name}:{digest.hexdigest()[:12]}"
    if docker("image", "inspect", ref, check=False).returncode != 0:
        done = subprocess.run(
            [
                "nice",
                "-n",
                "10",
                "docker",
                "build",
                "-q",
                "--build-arg",
                f"BASE_IMAGE={BASE_IMAGE}",
                "-t",
                ref,
                str(context),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"building {name}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return ref


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def address(name: str) -> str:
    """The container's address on its (only) network: the host reaches the project's own containers there."""
    return docker(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name
    ).stdout.strip()


def http_get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


@contextmanager
def network():
    """A Docker network of the test with no way out (--internal), removed when the block ends."""
    name = f"iac-test-monitoring-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--internal", name)
    try:
        yield name
    finally:
        docker("network", "rm", name, check=False)


@contextmanager
def container(ref: str, *args: str, run_args: tuple[str, ...] = ()):
    """A container of the test, named uniquely, removed (with its anonymous volumes) when the block ends."""
    name = f"iac-test-monitoring-{uuid.uuid4().hex[:8]}"
    try:
        docker("run", "-d", "--name", name, *run_args, ref, *args)
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)


def wait_healthy(name: str, timeout: float = 90) -> dict:
    """The container's State once its health check passes; AssertionError with its last checks otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        if (state.get("Health") or {}).get("Status") == "healthy":
            return state
        if not state.get("Running") or time.monotonic() > deadline:
            logs = docker("logs", "--tail", "20", name, check=False)
            raise AssertionError(
                f"{name} is not healthy: {json.dumps(state.get('Health'))[-1500:]}\n{logs.stdout}{logs.stderr}"
            )
        time.sleep(1)


def promtool(ref: str, workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """promtool of the Prometheus image, in `workdir` (mounted read-only), without network."""
    return docker(
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        f"{workdir}:/work:ro",
        "-w",
        "/work",
        "--entrypoint",
        "promtool",
        ref,
        *args,
        check=False,
        timeout=timeout,
    )
