"""container_images rebuilds a young Debian base that has pending security updates, measured as verify's patches
checks measure every deployed image (issue 15, item 4); a base with nothing pending is left alone.

The base under test is a copy under another name (container_images_base_repository=iac-test/debian): the stack's
own base is only read (FROM), never retagged or rebuilt. The copy is built now (so it is younger than
container_images_base_max_age_days) with tzdata older than the mirror's security update, the way
test_verify.py's leaky image has a pending update. The role's base step runs through a small playbook: check mode
reports the rebuild and changes nothing, the setting turned off changes nothing, a run rebuilds it naming the
update, and a second run finds nothing pending and changes nothing. A rebuilt base has a new image id, which is
what the build id of every image built on it hashes (tasks/images.yml), so they are rebuilt with it.
"""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import docker
from iac_testlib.ansible import playbook
from iac_testlib.project import ROOT

_DEFAULTS = yaml.safe_load((ROOT / "roles" / "container_images" / "defaults" / "main.yml").read_text())
SUITE = _DEFAULTS["container_images_base_suite"]
STACK_BASE = f"{_DEFAULTS['container_images_base_repository']}:{SUITE}"
TEST_REPOSITORY = "iac-test/debian"
TEST_BASE = f"{TEST_REPOSITORY}:{SUITE}"

PLAYBOOK = """\
- name: Build the base image with the container_images role's base step.
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Build, rebuild or keep the base image.
      ansible.builtin.include_role:
        name: container_images
        tasks_from: base
"""
# As test_verify.py's leaky image: a package older than the mirror's security update (tzdata: nothing depends on
# its exact version), so apt sees the update pending.
OUTDATED_DOCKERFILE = """\
FROM {base}
RUN sed -i '/^Package: tzdata$/,/^$/ s/^Version: .*/Version: 0.1/' /var/lib/dpkg/status
"""
# What the role says when it rebuilds (or, in check mode, would rebuild) the base for its pending updates (tzdata's,
# and any the stack's base has of its own).
REBUILD_SAID = re.compile(
    rf"{re.escape(TEST_BASE)} has \d+ pending security update\(s\): [^;]*\btzdata 0\.1 -> [^;]+; "
    r"(it is rebuilt|a run would rebuild it)"
)


def image_id(ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def flat(output: str) -> str:
    """The output with the callback's line wrapping undone (a long message is folded over several lines)."""
    return " ".join(output.split())


@pytest.fixture
def outdated_base(tmp_path):
    """TEST_BASE: the stack's base with a pending security update, built now; removed (and what replaced it)
    afterwards."""
    if docker("image", "inspect", STACK_BASE, check=False).returncode != 0:
        pytest.fail(f"no {STACK_BASE} on this machine: deploy the stack first (`make deploy`)")
    docker("rmi", "--force", TEST_BASE, check=False)  # left by an interrupted run
    (tmp_path / "Dockerfile").write_text(OUTDATED_DOCKERFILE.format(base=STACK_BASE))
    docker("build", "--quiet", "--tag", TEST_BASE, str(tmp_path))
    outdated = image_id(TEST_BASE)
    try:
        yield outdated
    finally:
        docker("rmi", "--force", TEST_BASE, check=False)
        docker("rmi", "--force", outdated, check=False)


def test_a_young_base_with_a_pending_security_update_is_rebuilt_once(outdated_base, tmp_path):
    stack_base = image_id(STACK_BASE)
    book = tmp_path / "base.yml"
    book.write_text(PLAYBOOK)

    def run(*args, name, **extra):
        return playbook(
            str(book), *args, extra_vars={"container_images_base_repository": TEST_REPOSITORY, **extra}, name=name
        )

    check = run("--check", name="base-check-mode")
    assert check.returncode == 0, check.tail()
    assert check.changed >= 1, check.tail()
    said = REBUILD_SAID.search(flat(check.output))
    assert said, check.tail()
    assert said[1] == "a run would rebuild it", check.tail()
    assert image_id(TEST_BASE) == outdated_base

    off = run(name="base-rebuild-off", container_images_base_security_rebuild=False)
    assert (off.returncode, off.changed) == (0, 0), off.tail()
    assert image_id(TEST_BASE) == outdated_base

    rebuild = run(name="base-rebuild")
    assert rebuild.returncode == 0, rebuild.tail()
    said = REBUILD_SAID.search(flat(rebuild.output))
    assert said, rebuild.tail()
    assert said[1] == "it is rebuilt", rebuild.tail()
    rebuilt = image_id(TEST_BASE)
    assert rebuilt != outdated_base

    try:
        again = run(name="base-nothing-pending")
        assert (again.returncode, again.changed) == (0, 0), again.tail()
        assert "pending security update(s)" not in flat(again.output), again.tail()
        assert image_id(TEST_BASE) == rebuilt
    finally:
        docker("rmi", "--force", rebuilt, check=False)
    # The stack's base was only read.
    assert image_id(STACK_BASE) == stack_base
