"""Filters of the monitoring role, thin wrappers over module_utils/monitoring_rules.py (unit-tested there).

    {{ settings | iac.core.monitoring_settings_errors }}  every bad setting, each message naming it ([] when good)
    {{ settings | iac.core.monitoring_rules_yaml }}       the Prometheus rule file generated from slo.yml
    {{ '1m30s' | iac.core.monitoring_seconds }}           a Prometheus duration in seconds (90)

`settings` is a dict of the slo_* and monitoring_* variables.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.module_utils import monitoring_rules


def monitoring_settings_errors(settings):
    return monitoring_rules.settings_errors(dict(settings))


def monitoring_rules_yaml(settings):
    try:
        return monitoring_rules.rules_yaml(dict(settings))
    except monitoring_rules.SettingsError as error:
        raise AnsibleFilterError(f"monitoring rules: {error}") from error


def monitoring_seconds(duration):
    try:
        return monitoring_rules.seconds(duration)
    except ValueError as error:
        raise AnsibleFilterError(f"monitoring: {error}") from error


class FilterModule:
    def filters(self):
        return {
            "monitoring_settings_errors": monitoring_settings_errors,
            "monitoring_rules_yaml": monitoring_rules_yaml,
            "monitoring_seconds": monitoring_seconds,
        }
