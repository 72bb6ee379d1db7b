"""The stack's generated secrets are recoverable (issue 14): playbooks/export-secrets.yml writes them into an
ansible-vault file on the control node, playbooks/import-secrets.yml puts lost ones back, refuses an export that
disagrees with the host, and a deploy after the import changes nothing."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from pathlib import Path

import pytest
import yaml
from iac_testlib.ansible import playbook
from iac_testlib.project import VENV_BIN
from stackctl import STACK_DIR, deploy, get

pytestmark = pytest.mark.slow

SECRETS = Path(STACK_DIR) / "secrets"
FILES = ["postgres_password", "redis_password", "secret_key", "database_url", "redis_url"]


def fingerprints() -> dict[str, tuple[str, str]]:
    """sha256 and mode of each secret file (never the values: an assertion would print them)."""
    return {
        name: (hashlib.sha256((SECRETS / name).read_bytes()).hexdigest(), oct((SECRETS / name).stat().st_mode & 0o777))
        for name in FILES
    }


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_exported_secrets_are_encrypted_come_back_when_lost_and_a_deploy_then_changes_nothing(tmp_path):
    before = fingerprints()
    values = [(SECRETS / name).read_text() for name in FILES]
    password = tmp_path / "vault-password"
    password.write_text(secrets.token_urlsafe(32) + "\n")
    password.chmod(0o600)
    vault = tmp_path / "export" / "localhost.vault.yml"
    settings = {"app_compose_secrets_vault_file": str(vault), "app_compose_secrets_vault_password_file": str(password)}

    export = playbook("playbooks/export-secrets.yml", extra_vars=settings, name="export-secrets")
    assert export.returncode == 0, export.tail()
    assert export.changed > 0, export.tail()
    text = vault.read_text()
    assert text.startswith("$ANSIBLE_VAULT;"), text[:80]
    assert oct(vault.stat().st_mode & 0o777) == "0o600"
    assert not any(value in text or value in export.output for value in values), "a secret is in the clear"
    again = playbook("playbooks/export-secrets.yml", extra_vars=settings, name="export-secrets-again")
    assert again.returncode == 0, again.tail()
    assert again.changed == 0, again.tail()

    # ansible-vault itself reads the export with the same password file.
    viewed = subprocess.run(
        [str(VENV_BIN / "ansible-vault"), "view", "--vault-password-file", str(password), str(vault)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    document = yaml.safe_load(viewed)
    assert {name: digest(value) for name, value in document["secrets"].items()} == {
        name: sha for name, (sha, _) in before.items()
    }

    # An export that disagrees with the host (made with ansible-vault on the command line) is refused, nothing written.
    document["secrets"]["secret_key"] = secrets.token_urlsafe(48)
    other = tmp_path / "export" / "other.vault.yml"
    subprocess.run(
        [str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), "--output", str(other)],
        input=yaml.safe_dump(document),
        check=True,
        capture_output=True,
        text=True,
    )
    refused = playbook(
        "playbooks/import-secrets.yml",
        extra_vars={**settings, "app_compose_secrets_vault_file": str(other)},
        name="import-secrets-differing",
    )
    message = " ".join(refused.output.split())
    assert refused.returncode != 0, refused.tail()
    assert f"secret_key in {SECRETS} on localhost: other values than in the export {other}; nothing" in message
    assert "app_compose_secrets_import_overwrite=true" in message, refused.tail()
    assert refused.changed == 0, refused.tail()
    assert fingerprints() == before

    # Lose every secret file; aside in the stack's directory, so that the originals (the inodes the containers have
    # mounted) go back at the end whatever happens.
    aside = Path(STACK_DIR) / "secrets.aside-by-test"
    aside.mkdir(mode=0o700)
    try:
        for name in FILES:
            (SECRETS / name).rename(aside / name)
        imported = playbook("playbooks/import-secrets.yml", extra_vars=settings, name="import-secrets")
        assert imported.returncode == 0, imported.tail()
        assert imported.changed > 0, imported.tail()
        assert fingerprints() == before
        assert not any(value in imported.output for value in values), "a secret is in the output"
        converge = deploy("--tags", "stack", name="deploy-after-import")
        assert converge.returncode == 0, converge.tail()
        assert converge.changed == 0, converge.tail()
    finally:
        for path in aside.iterdir():
            os.replace(path, SECRETS / path.name)
        aside.rmdir()
    assert fingerprints() == before
    assert get("/api/health").status_code == 200
