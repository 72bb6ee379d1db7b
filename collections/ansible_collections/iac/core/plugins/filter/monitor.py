"""Filters of the monitor role, thin wrappers over plugins/module_utils/monitor.py: the role's tasks read the stack
into one dict; these judge it and print it.

    {{ __monitor_raw | iac.core.monitor_judge(__monitor_settings) }}   {"rows", "problems", "log_targets", ...}
    {{ __monitor_judged | iac.core.monitor_report(__monitor_logs) }}   the text the playbook prints
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.module_utils import monitor


def _wrap(function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, KeyError, TypeError) as exc:
            raise AnsibleFilterError(f"monitor: {function.__name__}: {exc}") from exc

    call.__doc__ = function.__doc__
    return call


class FilterModule:
    def filters(self):
        return {
            "monitor_judge": _wrap(monitor.judge),
            "monitor_report": _wrap(monitor.report),
        }
