"""A lost secret file on a host whose database has data (issue 14): the deploy fails naming the file and how to get
it back, and generates nothing (a new password would not open the existing database)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from stackctl import SETTINGS, STACK_DIR, deploy, get

pytestmark = pytest.mark.slow

SECRETS = Path(STACK_DIR) / "secrets"
SECRET = SECRETS / "postgres_password"


def fingerprints() -> dict[str, str]:
    """sha256 of every file in the secrets directory (never the values: an assertion would print them)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(SECRETS.iterdir())}


def test_a_lost_database_password_with_data_fails_naming_the_file_and_generates_nothing():
    volume = f"{SETTINGS['app_project']}_pgdata"
    subprocess.run(["docker", "volume", "inspect", volume], check=True, capture_output=True)
    assert get("/api/items").status_code == 200, "the database has no data to lose"
    before = fingerprints()
    # Aside in the same directory: the same inode comes back, the one PostgreSQL's container has mounted.
    aside = SECRETS / "postgres_password.aside-by-test"
    SECRET.rename(aside)
    try:
        run = deploy("--tags", "stack", name="lost-postgres-password")
    finally:
        recreated = SECRET.exists()
        os.replace(aside, SECRET)
        if recreated:
            # The bug this test looks for happened: the stored files go back to matching the database.
            deploy("--tags", "stack", name="lost-postgres-password-repair")

    message = " ".join(run.output.split())
    assert run.returncode != 0, run.tail()
    assert f"{SECRET} on localhost is missing or empty" in message, run.tail()
    assert "nothing was generated" in message, run.tail()
    assert (
        "Restore it from an export of playbooks/export-secrets.yml (playbooks/import-secrets.yml puts it back) or your"
        " backup, or set app_postgres_password (vault)" in message
    ), run.tail()
    assert run.recap, run.tail()
    assert run.changed == 0, run.tail()
    assert not recreated, f"{SECRET} was written again by the failed run"
    assert fingerprints() == before
    assert get("/api/health").status_code == 200
