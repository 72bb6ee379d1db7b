"""Backups and restores of the stack deployed on this machine by `make deploy`, with real Docker and PostgreSQL.

The stack is destroyed on purpose (its PostgreSQL data volume removed) and must come back with the same items from a
backup; every test leaves the stack healthy through Nginx.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from backupctl import (
    BACKUP_DIR,
    PROJECT,
    SCRIPT,
    add_items,
    all_items,
    backup,
    compose,
    containers,
    good_backups,
    healthy,
    redeploy_stack,
    restore,
    wait_healthy,
)

pytestmark = pytest.mark.slow


def text(run) -> str:
    """A run's output with its whitespace folded (the YAML callback wraps long messages)."""
    return " ".join(run.output.split())


def take_backup(name: str) -> dict:
    """A backup through playbooks/backup.yml; its manifest."""
    before = {b["name"] for b in good_backups()} if BACKUP_DIR.exists() else set()
    run = backup(name=name)
    assert run.returncode == 0, run.tail()
    assert "verified in a scratch server" in text(run), run.tail()
    [new] = [b for b in good_backups() if b["name"] not in before]
    return new


def test_destroy_and_restore_brings_back_the_same_items():
    mine = add_items(25)
    taken = take_backup("backup-before-destroy")
    expected = all_items()
    assert {item["id"] for item in mine} <= {item["id"] for item in expected}
    assert taken["tables"]["public.items"]["rows"] == len(expected)
    assert (BACKUP_DIR / f"{taken['name']}.sha256").read_text().split()[0] == taken["sha256"]
    scratch = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=iac.backup.scratch"], check=True, capture_output=True, text=True
    )
    assert scratch.stdout.strip() == "", "no scratch server is left behind"

    # Destroy: PostgreSQL's container and its data volume go; a redeploy brings an empty database.
    compose("rm", "--stop", "--force", "postgres")
    subprocess.run(["docker", "volume", "rm", f"{PROJECT}_pgdata"], check=True, capture_output=True)
    run = redeploy_stack("redeploy-empty")
    assert run.returncode == 0, run.tail()
    counts = json.loads(subprocess.run([SCRIPT, "counts"], check=True, capture_output=True, text=True).stdout)
    # The running app containers created no tables in the new database yet (they migrate when they start).
    assert counts.get("public.items", {"rows": 0})["rows"] == 0

    run = restore(name="restore-latest")
    assert run.returncode == 0, run.tail()
    assert f"Restored {taken['name']}" in text(run), run.tail()
    assert healthy()
    assert all_items() == expected


@contextmanager
def broken_pg_dump(script: str) -> Iterator[None]:
    """The stack's pg_dump replaced by a shell script (given the real one's path as $REAL) until the block ends.
    The container's root filesystem is read-only (even for its root), so the files are swapped through the host's
    view of it: the merged directory of its overlay2 layers."""
    container = containers()["postgres"]
    real = subprocess.run(
        ["docker", "exec", container, "sh", "-c", "readlink -f /usr/local/lib/postgresql-bin/pg_dump"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    merged = subprocess.run(
        ["docker", "inspect", "--format", "{{.GraphDriver.Data.MergedDir}}", container],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert merged.startswith("/"), f"no overlay2 merged directory for the postgres container: {merged!r}"
    target = Path(merged) / real.lstrip("/")
    kept = target.with_name(f"{target.name}.real")
    target.rename(kept)
    target.write_text(f"#!/bin/sh\nREAL={real}.real\n{script}\n")
    target.chmod(0o755)
    try:
        yield
    finally:
        kept.replace(target)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        # A dump cut short, its exit status 0: pg_restore cannot read it.
        ('"$REAL" "$@" | head -c 2048', "pg_restore"),
        # A dump that restores, without the rows of one table: the comparison sees it.
        ('exec "$REAL" --exclude-table-data=public.items "$@"', "rows at dump time, 0 restored"),
    ],
    ids=["truncated", "rows-missing"],
)
def test_a_dump_that_does_not_restore_to_the_live_data_fails_the_run_and_is_not_kept(script, message, request):
    add_items(3)
    before = {b["name"] for b in good_backups()} if BACKUP_DIR.exists() else set()
    failed_before = set(BACKUP_DIR.glob("*.failed"))
    with broken_pg_dump(script):
        run = backup(name=f"backup-{request.node.callspec.id}")
    assert run.returncode != 0, run.tail()
    assert "failed verification and is not kept as a good backup" in text(run), run.tail()
    assert message in text(run), run.tail()
    assert {b["name"] for b in good_backups()} == before
    [failed] = set(BACKUP_DIR.glob("*.failed")) - failed_before
    assert json.loads(failed.with_suffix(".failed.json").read_text())["verified"] is False
    failed.unlink()
    failed.with_suffix(".failed.json").unlink()
    assert healthy()


def test_a_restore_refuses_to_replace_data_and_changes_nothing():
    add_items(1)
    take_backup("backup-for-refusal")
    before = containers()
    run = restore(name="restore-refused")
    assert run.returncode != 0, run.tail()
    assert "the live database has data: public.items" in text(run), run.tail()
    assert "backup_restore_overwrite: true" in text(run), run.tail()
    assert run.changed == 0, run.tail()
    assert containers() == before
    assert healthy()


def test_a_restore_replaces_data_when_told_to():
    taken = take_backup("backup-for-overwrite")
    expected = all_items()
    add_items(2)
    run = restore(
        extra_vars={"backup_restore_overwrite": True, "backup_restore_file": taken["name"]}, name="restore-overwrite"
    )
    assert run.returncode == 0, run.tail()
    assert "replacing the data of public.items" in text(run), run.tail()
    assert healthy()
    # The items written after the backup are gone, and the cache shows none of them.
    assert all_items() == expected


def test_a_missing_or_damaged_backup_is_refused_before_anything_changes():
    before = containers()
    run = restore(extra_vars={"backup_restore_file": f"{PROJECT}-20000101T000000Z"}, name="restore-missing")
    assert run.returncode != 0, run.tail()
    assert f"there is no backup named {PROJECT}-20000101T000000Z; the good backups are" in text(run), run.tail()
    assert run.changed == 0, run.tail()

    taken = take_backup("backup-to-damage")
    dump = BACKUP_DIR / taken["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(data)
    try:
        run = restore(
            extra_vars={"backup_restore_file": taken["name"], "backup_restore_overwrite": True}, name="restore-damaged"
        )
        assert run.returncode != 0, run.tail()
        assert f"{dump} is damaged: its sha256 is" in text(run), run.tail()
        assert run.changed == 0, run.tail()
        verify = subprocess.run([SCRIPT, "verify", taken["name"]], capture_output=True, text=True, check=False)
        assert verify.returncode == 1
        assert "is damaged" in verify.stderr
    finally:
        for suffix in (".dump", ".json", ".sha256"):
            (BACKUP_DIR / f"{taken['name']}{suffix}").unlink()
    assert containers() == before
    assert healthy()


def test_the_schedule_is_idempotent_and_check_mode_changes_nothing():
    args = ("-e", "backup_run_now=false")
    first = backup(*args, name="schedule")
    assert first.returncode == 0, first.tail()
    second = backup(*args, name="schedule-again")
    assert second.returncode == 0, second.tail()
    assert second.changed == 0, second.tail()
    check = backup("--check", "--diff", name="schedule-check")
    assert check.returncode == 0, check.tail()
    assert check.changed == 0, check.tail()
    if Path("/run/systemd/system").is_dir():
        enabled = subprocess.run(["systemctl", "is-enabled", "iac-backup.timer"], capture_output=True, check=False)
        assert enabled.returncode == 0, "the timer is enabled"
    else:
        assert f"root {SCRIPT} backup" in Path("/etc/cron.d/iac-backup").read_text()
        assert subprocess.run(["pgrep", "-x", "cron"], capture_output=True, check=False).returncode == 0, "cron runs"


@pytest.fixture(autouse=True)
def stack_healthy_afterwards():
    yield
    if not healthy():
        wait_healthy()
