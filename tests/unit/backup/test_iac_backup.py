"""iac-backup's decisions: names, the per-table comparison of a restored copy, what counts as data, retention and
which backup a restore takes. The commands themselves run against the real stack in tests/backup."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import iac_backup as ib
import jinja2
import pytest
import yaml
from iac_testlib.project import ROOT

NOW = datetime(2026, 12, 2, 3, 15, 7, tzinfo=timezone.utc)  # noqa: UP017 (as the script, which runs on Python 3.10)


def manifest(name: str, created: str) -> dict:
    return {"name": name, "file": f"{name}.dump", "created": created, "verified": True}


def test_names_are_the_project_and_utc_time_unique_within_a_second():
    assert ib.backup_name("iac", NOW, set()) == "iac-20261202T031507Z"
    assert ib.backup_name("iac", NOW, {"iac-20261202T031507Z"}) == "iac-20261202T031507Z-1"
    assert ib.backup_name("iac", NOW, {"iac-20261202T031507Z", "iac-20261202T031507Z-1"}) == "iac-20261202T031507Z-2"
    assert ib.NAME.match("iac-20261202T031507Z-2")
    assert not ib.NAME.match("../etc/passwd")


def test_the_stats_query_quotes_every_table_and_handles_none():
    sql = ib.stats_sql(["public.items", 'public."it\'s"'])
    assert "SELECT 'public.items', count(*)" in sql
    assert "'public.\"it''s\"'" in sql
    assert sql.count("UNION ALL") == 1
    assert "WHERE false" in ib.stats_sql([])


def test_psql_output_is_read_into_rows_and_hashes():
    stats = ib.parse_stats(["public.items|10000|123456789", "public.schema_migrations|2|42", ""])
    assert stats == {
        "public.items": {"rows": 10000, "hash": "123456789"},
        "public.schema_migrations": {"rows": 2, "hash": "42"},
    }
    # A table name may hold a |: the last two fields are the numbers.
    assert ib.parse_stats(['public."a|b"|1|7']) == {'public."a|b"': {"rows": 1, "hash": "7"}}


def test_a_restored_copy_matches_only_when_every_table_has_the_same_rows_and_contents():
    live = {"public.items": {"rows": 3, "hash": "9"}, "public.schema_migrations": {"rows": 2, "hash": "4"}}
    assert ib.compare(live, json.loads(json.dumps(live))) == []
    problems = ib.compare(
        live,
        {
            "public.items": {"rows": 0, "hash": "0"},
            "public.extra": {"rows": 1, "hash": "1"},
        },
    )
    assert problems == [
        "public.extra: in the restored copy only",
        "public.items: 3 rows at dump time, 0 restored",
        "public.schema_migrations: missing from the restored copy (2 rows at dump time)",
    ]
    assert ib.compare(live, {**live, "public.items": {"rows": 3, "hash": "8"}}) == [
        "public.items: same row count (3) but different contents"
    ]


def test_rows_in_bookkeeping_tables_only_are_no_data():
    stats = {"public.items": {"rows": 0, "hash": "0"}, "public.schema_migrations": {"rows": 2, "hash": "4"}}
    assert ib.has_data(stats, ["public.schema_migrations"]) == []
    assert ib.has_data(stats, []) == ["public.schema_migrations"]
    stats["public.items"]["rows"] = 1
    assert ib.has_data(stats, ["public.schema_migrations"]) == ["public.items"]


def test_retention_keeps_the_newest_good_backups_and_the_failures_after_the_oldest_kept():
    good = [
        manifest("iac-20261201T031500Z", "2026-12-01T03:15:00.000000Z"),
        manifest("iac-20261203T031500Z", "2026-12-03T03:15:00.000000Z"),
        manifest("iac-20261202T031500Z", "2026-12-02T03:15:00.000000Z"),
    ]
    failed = ["iac-20261130T031500Z", "iac-20261202T120000Z"]
    assert ib.retention_plan(good, failed, 2) == ["iac-20261201T031500Z", "iac-20261130T031500Z"]
    assert ib.retention_plan(good, failed, 7) == ["iac-20261130T031500Z"]
    # Without a good backup nothing is deleted: the failures are all there is to look at.
    assert ib.retention_plan([], failed, 1) == []


def test_a_restore_takes_the_named_or_the_newest_good_backup_and_names_what_exists():
    good = [
        manifest("iac-20261201T031500Z", "2026-12-01T03:15:00.000000Z"),
        manifest("iac-20261202T031500Z", "2026-12-02T03:15:00.000000Z"),
    ]
    assert ib.choose(good, {}, "")["name"] == "iac-20261202T031500Z"
    assert ib.choose(good, {}, "iac-20261201T031500Z")["name"] == "iac-20261201T031500Z"
    assert ib.choose(good, {}, "iac-20261201T031500Z.dump")["name"] == "iac-20261201T031500Z"
    with pytest.raises(ib.BackupError, match="no backup named iac-20250101T000000Z; the good backups are, newest"):
        ib.choose(good, {}, "iac-20250101T000000Z")
    with pytest.raises(ib.BackupError, match=r"failed verification when it was taken .*: 3 rows at dump time"):
        ib.choose(good, {"iac-20261203T031500Z": "3 rows at dump time"}, "iac-20261203T031500Z")
    with pytest.raises(ib.BackupError, match="there is no good backup"):
        ib.choose([], {}, "")


def test_the_manifests_listed_are_the_verified_ones_with_their_dump(tmp_path):
    good = manifest("iac-20261202T031500Z", "2026-12-02T03:15:00.000000Z")
    (tmp_path / "iac-20261202T031500Z.json").write_text(json.dumps(good))
    (tmp_path / "iac-20261202T031500Z.dump").write_bytes(b"PGDMP")
    lost = manifest("iac-20261201T031500Z", "2026-12-01T03:15:00.000000Z")
    (tmp_path / "iac-20261201T031500Z.json").write_text(json.dumps(lost))
    (tmp_path / "iac-20261203T031500Z.failed.json").write_text(json.dumps({"error": "truncated"}))
    (tmp_path / "iac-20261203T031500Z.failed").write_bytes(b"PG")
    assert [m["name"] for m in ib.manifests(tmp_path)] == ["iac-20261202T031500Z"]
    assert ib.failed_names(tmp_path) == {"iac-20261203T031500Z": "truncated"}


def render(template: str, **settings) -> str:
    role = ROOT / "roles/backup"
    values = {**yaml.safe_load((role / "defaults/main.yml").read_text()), "app_project": "iac"}
    values |= {"__backup_script": "/usr/local/sbin/iac-backup", "ansible_managed": "managed", **settings}
    return jinja2.Template((role / "templates" / template).read_text()).render(values)


def test_the_schedule_is_the_same_time_for_cron_and_systemd():
    cron = render("iac-backup.cron.j2", backup_schedule_hour=4, backup_schedule_minute=5)
    assert "5 4 * * * root /usr/local/sbin/iac-backup backup >>/var/log/iac-backup.log 2>&1" in cron
    timer = render("iac-backup.timer.j2", backup_schedule_hour=4, backup_schedule_minute=5)
    assert "OnCalendar=*-*-* 04:05:00" in timer
    assert "Persistent=true" in timer
    assert "ExecStart=/usr/local/sbin/iac-backup backup" in render("iac-backup.service.j2")
