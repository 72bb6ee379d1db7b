"""The fact cache never makes a run wrong: a host rebuilt under its old name (here: this machine, whose cached facts
are made to say Debian 13 with Python 3.13 and another machine-id) gets its facts gathered anew, and the run works.
So does one rebuilt with another release from the same image (the same machine-id)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iac_testlib.ansible import playbook
from iac_testlib.project import ansible_env

MACHINE_ID = Path("/etc/machine-id").read_text().strip()
REBUILT = {
    "ansible_machine_id": "00000000000000000000000000000000",
    "ansible_distribution_major_version": "13",
    "ansible_distribution_release": "trixie",
    "ansible_python": {"executable": "/usr/bin/python3.13", "version": {"major": 3, "minor": 13}},
    "discovered_interpreter_python": "/usr/bin/python3.13",
}


def cache_file(cache: Path) -> Path:
    # ansible-core's jsonfile cache: one file per host, its facts as a JSON payload.
    (path,) = cache.glob("*localhost")
    return path


def rewrite(cache: Path, change) -> None:
    path = cache_file(cache)
    document = json.loads(path.read_text())
    facts = json.loads(document["__payload__"])
    document["__payload__"] = json.dumps(change(facts))
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "change",
    [lambda facts: {**facts, **REBUILT}, lambda facts: {**facts, "ansible_distribution_major_version": "13"}],
    ids=["rebuilt-host", "another-release"],
)
def test_cached_facts_that_do_not_describe_the_host_are_gathered_again(tmp_path, change, request):
    gather = tmp_path / "gather.yml"
    gather.write_text("- hosts: localhost\n  gather_facts: true\n  tasks: []\n")
    cache = tmp_path / "cache"
    env = ansible_env(ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache))
    gathered = playbook(str(gather), inventory="inventories/local", name="fill-fact-cache", env=env)
    assert gathered.returncode == 0, gathered.tail()
    rewrite(cache, change)
    run = playbook("playbooks/provision.yml", "--check", name=f"cache-{request.node.callspec.id}", env=env)
    assert run.returncode == 0, run.tail()
    assert run.changed == 0, run.tail()
    facts = json.loads(json.loads(cache_file(cache).read_text())["__payload__"])
    assert facts["ansible_machine_id"] == MACHINE_ID
    assert facts["ansible_distribution_major_version"] != "13"
