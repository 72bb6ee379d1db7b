"""Filters of the verify role, thin wrappers over plugins/module_utils/verify (parse, checks, history, report):
the role's tasks collect raw tool output into one dict; these turn it into judged checks and a report.

    {{ __verify_raw | iac.core.verify_units(verify_services) }}       the stack's containers, summarised
    {{ __verify_raw | iac.core.verify_checks(__verify_settings) }}     {"units", "checks", "distributions"}
    {{ built | iac.core.verify_report(meta, require_vuln_db, logs) }}  the JSON report
    {{ report | iac.core.verify_summary }} / {{ report | iac.core.verify_html }}
    {{ report | iac.core.verify_failures }}                           a line per failed check: value, threshold, why
    {{ series | iac.core.verify_history_queries(window_days) }}       the PromQL sent to Prometheus
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.module_utils.verify import checks, history, parse, report


def _wrap(function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (ValueError, KeyError, TypeError) as exc:
            raise AnsibleFilterError(f"verify: {function.__name__}: {exc}") from exc

    call.__doc__ = function.__doc__
    return call


def verify_units(raw, services):
    return parse.units(raw.get("containers") or [], raw["now"], services)


class FilterModule:
    def filters(self):
        return {
            "verify_units": _wrap(verify_units),
            "verify_checks": _wrap(checks.build),
            "verify_report": _wrap(report.document),
            "verify_summary": _wrap(report.summary),
            "verify_failures": _wrap(report.failures),
            "verify_html": _wrap(report.html_page),
            "verify_history_queries": _wrap(history.queries),
        }
