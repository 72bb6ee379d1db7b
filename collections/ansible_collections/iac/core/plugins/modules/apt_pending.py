#!/usr/bin/python
"""The updates apt would install on the host or in an image, and which of them come from a security suite."""

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_pending
short_description: Read the pending apt updates of the host or of an image, the security ones separately.
description:
  - Asks apt which package indexes it has and what an upgrade would install (C(apt-get --simulate), no lock
    taken), as module_utils/apt.py says, and reads the answer with the parser of verify's patches checks.
  - With I(image), in a throwaway container of that image (no network, root) on the host's package index mounted
    read-only; refresh the host's index first (ansible.builtin.apt update_cache).
  - Fails when apt has no index of any source to compare with (nothing pending would prove nothing), or when the
    command fails; the result still carries rc, stdout and stderr.
  - Read-only; supports check mode and never reports a change.
options:
  image:
    description: Image to read instead of the host; empty reads the host.
    type: str
    default: ""
author: iac maintainers
"""

EXAMPLES = r"""
- name: Read the pending updates of the base image.
  iac.core.apt_pending:
    image: iac/debian:bookworm
  register: pending
"""

RETURN = r"""
pending:
  description: Every pending update, each {package, installed, candidate, origin, security}.
  returned: success
  type: list
  elements: dict
security:
  description: The pending updates from a security suite (same items).
  returned: success
  type: list
  elements: dict
security_summary:
  description: One line per pending security update, C(package installed -> candidate).
  returned: success
  type: list
  elements: str
indexes:
  description: The package indexes apt compared with (URI and suite).
  returned: success
  type: list
  elements: str
stdout:
  description: What apt printed (the indexes, C(===), the simulation).
  returned: always
  type: str
"""

# Ansible modules put their imports after the documentation.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.iac.core.plugins.module_utils import apt  # noqa: E402
from ansible_collections.iac.core.plugins.module_utils.verify import parse  # noqa: E402


def main():
    module = AnsibleModule(argument_spec={"image": {"type": "str", "default": ""}}, supports_check_mode=True)
    argv = apt.command(module.params["image"])
    rc, stdout, stderr = module.run_command(argv)
    result = {"changed": False, "rc": rc, "stdout": stdout, "stderr": stderr}
    target = module.params["image"] or "the host"
    if rc != 0:
        module.fail_json(msg=f"apt's simulation in {target} exited {rc}: {stderr.strip()[-300:]}", **result)
    try:
        found = apt.pending(stdout)
    except parse.ParseError as exc:
        module.fail_json(msg=f"pending updates of {target} unknown: {exc}", **result)
    module.exit_json(**result, **found, security_summary=apt.describe(found["security"]))


if __name__ == "__main__":
    main()
