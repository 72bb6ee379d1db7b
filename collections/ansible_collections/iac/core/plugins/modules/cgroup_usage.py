#!/usr/bin/python
"""Two readings of the CPU time and memory of the cgroups of some processes, `interval` seconds apart."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cgroup_usage
short_description: Read the CPU time and memory of containers from their cgroups, twice.
description:
  - Reads the cgroup counters (v1 or v2) of each process id (a container's init process) twice, I(interval)
    seconds apart, as module_utils/cgroups.py does for verify. Docker's stats API answers zeros on some engines;
    the cgroup files are the source.
  - Read-only; supports check mode and never reports a change.
options:
  pids:
    description: Process ids whose cgroups are read.
    type: list
    elements: int
    required: true
  interval:
    description: Seconds between the two readings.
    type: float
    default: 1.0
author: iac maintainers
"""

EXAMPLES = r"""
- name: Read the containers' CPU and memory.
  iac.core.cgroup_usage:
    pids: [1234, 5678]
    interval: 1
  register: usage
"""

RETURN = r"""
readings:
  description: The two readings, each {monotonic, pids} as module_utils/cgroups.py prints one.
  returned: always
  type: list
  elements: dict
"""

import time  # noqa: E402  (Ansible modules put their imports after the documentation)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.iac.core.plugins.module_utils.cgroups import reading  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec={
            "pids": {"type": "list", "elements": "int", "required": True},
            "interval": {"type": "float", "default": 1.0},
        },
        supports_check_mode=True,
    )
    pids = [str(pid) for pid in module.params["pids"]]
    first = reading(pids)
    time.sleep(max(module.params["interval"], 0))
    module.exit_json(changed=False, readings=[first, reading(pids)])


if __name__ == "__main__":
    main()
