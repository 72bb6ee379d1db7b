"""`apt-get --simulate upgrade` read once for the whole project (module_utils/verify/parse.apt_pending):

{{ (policy.stdout, simulation.stdout) | iac.core.apt_pending }}   {"pending": [...], "security": [...]}
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.module_utils.verify import parse


def apt_pending(outputs):
    policy, simulation = outputs
    try:
        return parse.apt_pending(policy, simulation)
    except parse.ParseError as exc:
        raise AnsibleFilterError(f"apt_pending: {exc}") from exc


class FilterModule:
    def filters(self):
        return {"apt_pending": apt_pending}
