"""Filters of the export and import of the Docker stack's secrets (role app_compose), thin wrappers over
plugins/module_utils/app_secrets.py (unit-tested there).

    {{ document | iac.core.app_secrets_export_errors(names) }}            [] when the export can be imported
    {{ stored | iac.core.app_secrets_import_plan(exported, overwrite) }}  {"write", "same", "replaced", "conflicts"}
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.module_utils import app_secrets


def app_secrets_export_errors(document, names):
    return app_secrets.export_errors(document, list(names))


def app_secrets_import_plan(stored, exported, overwrite=False):
    if not isinstance(overwrite, bool):
        # "false" from the command line would be true as a string: the caller passes `| bool`.
        raise AnsibleFilterError(f"app_secrets_import_plan: overwrite must be a boolean, got {overwrite!r}")
    return app_secrets.import_plan(dict(stored), dict(exported), overwrite)


class FilterModule:
    def filters(self):
        return {
            "app_secrets_export_errors": app_secrets_export_errors,
            "app_secrets_import_plan": app_secrets_import_plan,
        }
