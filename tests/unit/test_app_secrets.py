"""What an import of the Docker stack's exported secrets writes, keeps and refuses (module_utils/app_secrets.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.iac.core.plugins.filter.app_secrets import app_secrets_import_plan
from ansible_collections.iac.core.plugins.module_utils import app_secrets

NAMES = ["postgres_password", "redis_password", "secret_key", "database_url", "redis_url"]
EXPORTED = {name: f"value-of-{name}" for name in NAMES}


def test_a_whole_export_can_be_imported():
    assert app_secrets.export_errors({"host": "web1", "secrets": EXPORTED}, NAMES) == []


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ("$ANSIBLE_VAULT;1.1;AES256", "no `secrets` mapping"),
        ({"host": "web1"}, "no `secrets` mapping"),
        ({"secrets": {**EXPORTED, "secret_key": ""}}, "it has no value for secret_key"),
        ({"secrets": {k: v for k, v in EXPORTED.items() if k != "redis_url"}}, "it has no value for redis_url"),
        ({"secrets": {**EXPORTED, "postgres_password": 12345}}, "it has no value for postgres_password"),
        ({"secrets": {**EXPORTED, "api_token": "x"}}, "files the stack does not keep: api_token"),
    ],
)
def test_a_broken_export_is_refused_naming_what_is_wrong(document, named):
    errors = app_secrets.export_errors(document, NAMES)
    assert any(named in error for error in errors), errors


def test_lost_files_are_written_and_the_others_kept():
    stored = {**EXPORTED, "postgres_password": "", "database_url": ""}
    del stored["redis_url"]
    plan = app_secrets.import_plan(stored, EXPORTED)
    assert plan == {
        "write": ["postgres_password", "database_url", "redis_url"],
        "same": ["redis_password", "secret_key"],
        "replaced": [],
        "conflicts": [],
    }


def test_a_differing_secret_on_the_host_is_a_conflict_unless_overwrite():
    stored = {**EXPORTED, "secret_key": "another-key"}
    assert app_secrets.import_plan(stored, EXPORTED)["conflicts"] == ["secret_key"]
    assert app_secrets.import_plan(stored, EXPORTED)["write"] == []
    plan = app_secrets.import_plan(stored, EXPORTED, overwrite=True)
    assert plan["write"] == plan["replaced"] == ["secret_key"]
    assert plan["conflicts"] == []


def test_nothing_to_do_when_the_host_has_the_export():
    assert app_secrets.import_plan(EXPORTED, EXPORTED)["same"] == NAMES


def test_no_value_is_in_a_plan_or_a_message():
    stored = {**EXPORTED, "secret_key": "another-key", "redis_url": ""}
    text = repr(app_secrets.import_plan(stored, EXPORTED)) + repr(
        app_secrets.export_errors({"secrets": {**EXPORTED, "x": "y"}}, NAMES)
    )
    assert not any(value in text for value in [*EXPORTED.values(), "another-key"])


def test_the_filter_refuses_a_string_for_overwrite():
    # "false" given on the command line is a string, and true as one.
    with pytest.raises(AnsibleFilterError, match="overwrite must be a boolean"):
        app_secrets_import_plan(EXPORTED, EXPORTED, "false")
