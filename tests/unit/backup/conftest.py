"""The backup script (roles/backup/files/iac_backup.py, installed on the hosts as /usr/local/sbin/iac-backup) on
sys.path, so that its decisions are tested as plain Python."""

from __future__ import annotations

import sys

from iac_testlib.project import ROOT

sys.path.insert(0, str(ROOT / "roles/backup/files"))
