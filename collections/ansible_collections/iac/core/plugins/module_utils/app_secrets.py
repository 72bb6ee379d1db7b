"""The Docker stack's secret files and their encrypted export (playbooks/export-secrets.yml and import-secrets.yml,
role app_compose): whether an export is whole, and what an import writes, keeps or refuses.

    export_errors(document, names)            why a decrypted export cannot be imported ([] when it can)
    import_plan(stored, exported, overwrite)  {"write", "same", "replaced", "conflicts"}: lists of file names

No value is ever put in a message or a result: only the names of the files.
"""

from __future__ import annotations


def export_errors(document, names) -> list[str]:
    """What is wrong with a decrypted export ({"secrets": {name: value}}) for the secret files `names`."""
    if not isinstance(document, dict) or not isinstance(document.get("secrets"), dict):
        return ["it is not an export of playbooks/export-secrets.yml (no `secrets` mapping)"]
    secrets = document["secrets"]
    errors = []
    missing = [name for name in names if not isinstance(secrets.get(name), str) or not secrets.get(name)]
    if missing:
        errors.append(f"it has no value for {', '.join(missing)}")
    unknown = sorted(set(secrets) - set(names))
    if unknown:
        errors.append(f"it has files the stack does not keep: {', '.join(map(str, unknown))}")
    return errors


def import_plan(stored: dict, exported: dict, overwrite: bool = False) -> dict[str, list[str]]:
    """For each exported file: `same` (the host has that value), `write` (the host has none, or overwrite: it is
    replaced; those are `replaced` too) or `conflicts` (the host has another value and overwrite is false)."""
    plan: dict[str, list[str]] = {"write": [], "same": [], "replaced": [], "conflicts": []}
    for name, value in exported.items():
        have = stored.get(name) or ""
        if have == value:
            plan["same"].append(name)
        elif not have:
            plan["write"].append(name)
        elif overwrite:
            plan["write"].append(name)
            plan["replaced"].append(name)
        else:
            plan["conflicts"].append(name)
    return plan
