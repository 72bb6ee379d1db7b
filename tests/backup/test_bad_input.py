"""Bad backup settings stop the backup and restore playbooks before anything changes, with a message naming the
setting; the stack keeps running."""

from __future__ import annotations

import pytest
from backupctl import backup, containers, healthy, restore


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    [
        ({"backup_retention": 0}, "backup_retention must be at least 1"),
        ({"backup_dir": "/var/lib/docker/volumes/iac_pgdata/backups"}, "backup_dir must be an absolute directory"),
        ({"backup_dir": "backups"}, "backup_dir must be an absolute directory"),
        ({"backup_schedule_hour": 24}, "backup_schedule_hour must be 0-23"),
        ({"backup_schedule_backend": "anacron"}, "backup_schedule_backend"),
        ({"backup_verify_timeout": 5}, "backup_verify_timeout must be at least 10 seconds"),
        ({"backup_restore_file": "../../etc/shadow"}, "backup_restore_file must be empty"),
    ],
    ids=["retention-0", "dir-in-docker", "dir-relative", "hour-24", "unknown-backend", "verify-timeout", "file-path"],
)
def test_bad_setting_fails_before_anything_changes(extra_vars, message, request):
    before = containers()
    playbook = restore if "backup_restore_file" in extra_vars else backup
    run = playbook(extra_vars=extra_vars, name=f"bad-{request.node.callspec.id}")
    assert run.returncode != 0, run.tail()
    assert message in " ".join(run.output.split()), run.tail()
    assert run.recap, run.tail()
    assert run.changed == 0, run.tail()
    assert containers() == before
    assert healthy()
