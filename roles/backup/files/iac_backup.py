#!/usr/bin/env python3
"""PostgreSQL backups of the Compose stack on this host, each one verified by restoring it into a scratch server.

    iac-backup backup          take a backup now: dump, verify, keep it, apply retention; prints a JSON summary
    iac-backup list            the good backups, newest first (JSON)
    iac-backup counts          the live database's tables: rows and a content hash each (JSON)
    iac-backup verify NAME     check a kept backup again: sha256, then a restore into a scratch server
    iac-backup restore NAME    restore a kept backup into the live database (the caller stops the app first)

Installed by the Ansible role `backup` (roles/backup) as /usr/local/sbin/iac-backup, with its settings in
/etc/iac/backup.json; playbooks/backup.yml, playbooks/restore.yml and the schedule (systemd timer or cron) run it.

A backup is `pg_dump --format=custom` run inside the stack's PostgreSQL container (`docker exec`), its bytes streamed
to <dir>/<project>-<UTC time>.dump on the host, outside the data volume. The rows of every table are counted and
hashed in the same snapshot the dump reads (pg_dump --snapshot), so writes during the dump never make the comparison
differ. The dump is then restored into a temporary container of the same image (no network, removed afterwards) and
counted and hashed again: only a dump whose every table matches is kept, with <name>.sha256 and <name>.json (the
manifest: the counts, the sha256, the times). The manifest is written last: a backup without one is not a good
backup. A dump that fails is kept as <name>.failed with <name>.failed.json saying why, and the run exits 1.

Passwords never leave the containers: the commands read the password file the container itself was given.
Python's standard library and the docker CLI only (this runs on the managed host).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

CONFIG = Path(os.environ.get("IAC_BACKUP_CONFIG", "/etc/iac/backup.json"))
SCRATCH_LABEL = "iac.backup.scratch"
CHUNK = 1 << 20
# Not datetime.UTC: the managed hosts include Ubuntu 22.04 (Python 3.10).
UTC = timezone.utc  # noqa: UP017

# Every row rendered the same way in the live and the scratch server, whatever their settings.
SESSION_SETTINGS = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET bytea_output = 'hex';"
)
TABLES_SQL = (
    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1"
)
# Inside the container: a password login on loopback as the container's own POSTGRES_USER (the stack's PostgreSQL
# accepts local socket logins by peer only, and its OS user is not that role).
PG_ENV = (
    'export PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER" '
    'PGDATABASE="$POSTGRES_DB";'
)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*-\d{8}T\d{6}Z(-\d+)?$")


class BackupError(Exception):
    """A failure with a message for the operator (the run exits 1 with it)."""


@dataclass
class Config:
    project: str
    backup_dir: Path
    retention: int
    verify_timeout: int
    # Seconds one run may take in all before it stops (a hung `docker exec` never holds the lock for ever).
    run_timeout: int = 3600
    # Tables whose rows are no user data (the app's migration versions): rows there only count as an empty database.
    ignore_tables: list[str] = field(default_factory=list)
    postgres_service: str = "postgres"
    redis_service: str = "redis"

    @classmethod
    def load(cls, path: Path = CONFIG) -> Config:
        data = json.loads(path.read_text())
        data["backup_dir"] = Path(data["backup_dir"])
        for number in ("retention", "verify_timeout", "run_timeout"):
            data[number] = int(data[number])
        return cls(**data)


# --- Decisions (plain functions, unit-tested in tests/unit/backup) ---------------------------------------------------


def backup_name(project: str, now: datetime, taken: set[str]) -> str:
    """<project>-<UTC time>, with -1, -2, ... when a backup of that second exists."""
    base = f"{project}-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def stats_sql(tables: list[str]) -> str:
    """One statement: per table, its name, row count and an order-independent hash of its rows' text (the sum of a
    60-bit slice of each row's md5, so no sort and no memory that grows with the table)."""
    if not tables:
        return "SELECT NULL, NULL, NULL WHERE false"
    parts = [
        f"SELECT {quote_literal(table)}, count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)"
        f" FROM {table} t"
        for table in tables
    ]
    return " UNION ALL ".join(parts)


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_stats(lines: list[str]) -> dict[str, dict[str, str | int]]:
    """psql -A -t output of stats_sql (fields split by |) into {table: {rows, hash}}."""
    stats: dict[str, dict[str, str | int]] = {}
    for line in lines:
        if not line.strip():
            continue
        table, rows, digest = line.rsplit("|", 2)
        stats[table] = {"rows": int(rows), "hash": digest}
    return stats


def compare(expected: dict, actual: dict) -> list[str]:
    """What differs between the live database at dump time and the restored copy (empty: they match)."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(f"{table}: missing from the restored copy ({expected[table]['rows']} rows at dump time)")
        elif table not in expected:
            problems.append(f"{table}: in the restored copy only")
        elif expected[table]["rows"] != actual[table]["rows"]:
            problems.append(f"{table}: {expected[table]['rows']} rows at dump time, {actual[table]['rows']} restored")
        elif expected[table]["hash"] != actual[table]["hash"]:
            problems.append(f"{table}: same row count ({actual[table]['rows']}) but different contents")
    return problems


def has_data(stats: dict, ignore: list[str]) -> list[str]:
    """The tables with rows, leaving out bookkeeping tables (`ignore`, e.g. the app's migration versions)."""
    return sorted(table for table, row in stats.items() if row["rows"] > 0 and table not in ignore)


def retention_plan(good: list[dict], failed: list[str], keep: int) -> list[str]:
    """The names to delete: good backups beyond the newest `keep`, and failed dumps older than the oldest good
    backup kept. `good`: manifests; `failed`: names. Names sort by time (their UTC timestamp)."""
    good = sorted(good, key=lambda m: (m["created"], m["name"]), reverse=True)
    kept, dropped = good[:keep], good[keep:]
    oldest_kept = min((m["name"] for m in kept), default=None)
    stale = [name for name in failed if oldest_kept is not None and name < oldest_kept]
    return [m["name"] for m in dropped] + sorted(stale)


def choose(good: list[dict], failed: dict[str, str], wanted: str) -> dict:
    """The backup to restore: the one named (its name or its file name), or the newest good one. `failed`: the
    names of the dumps that failed verification, with the reason."""
    name = wanted.removesuffix(".dump").removesuffix(".failed")
    if name and name in failed:
        raise BackupError(f"backup {name} failed verification when it was taken and cannot be restored: {failed[name]}")
    if not good:
        raise BackupError("there is no good backup to restore (no backup has a manifest of a verified dump)")
    if not name:
        return max(good, key=lambda m: (m["created"], m["name"]))
    for manifest in good:
        if manifest["name"] == name:
            return manifest
    newest = sorted((m["name"] for m in good), reverse=True)
    raise BackupError(f"there is no backup named {wanted}; the good backups are, newest first: {', '.join(newest)}")


# --- The host: files, docker ---------------------------------------------------------------------------------------


def run(argv: list[str], *, input_file=None, timeout: int = 600) -> str:
    done = subprocess.run(argv, stdin=input_file, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise BackupError(f"{' '.join(argv[:4])} ... failed (rc={done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def container_of(config: Config, service: str) -> str:
    names = run(
        [
            "docker",
            "ps",
            "--filter",
            f"label=com.docker.compose.project={config.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
            "--format",
            "{{.Names}}",
        ]
    ).split()
    if len(names) != 1:
        raise BackupError(
            f"expected one running {service} container of the Compose project {config.project}, found {names or 'none'}"
        )
    return names[0]


def inspect(container: str) -> dict:
    return json.loads(run(["docker", "inspect", container]))[0]


class Session:
    """One psql session inside a container, kept open (the snapshot a dump reads lives as long as its
    transaction). Each query's output ends at a marker line."""

    def __init__(self, container: str):
        self.process = subprocess.Popen(
            ["docker", "exec", "-i", container, "sh", "-c", PG_ENV + " exec psql -X -q -A -t -v ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def query(self, sql: str) -> list[str]:
        marker = f"--iac-backup-{uuid.uuid4().hex}--"
        assert self.process.stdin
        assert self.process.stdout
        # psql sends a statement when it reads its `;`; the marker is echoed after its result.
        statement = sql.rstrip().rstrip(";")
        self.process.stdin.write(f"{statement};\n\\echo {marker}\n")
        self.process.stdin.flush()
        lines = []
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            if line == marker:
                return lines
            lines.append(line)
        self.process.wait(timeout=10)
        raise BackupError(f"psql ended (rc={self.process.returncode}): {self.process.stderr.read().strip()[-2000:]}")

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            if self.process.stdin:
                self.process.stdin.write("COMMIT;\n\\q\n")
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def table_stats(session: Session) -> dict:
    session.query(SESSION_SETTINGS)
    tables = session.query(TABLES_SQL)
    return parse_stats(session.query(stats_sql(tables)))


def live_stats(container: str) -> dict:
    session = Session(container)
    try:
        session.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;")
        return table_stats(session)
    finally:
        session.close()


def dump(container: str, snapshot: str, target: Path) -> tuple[str, int]:
    """pg_dump --format=custom of the snapshot, its bytes streamed into target; returns (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    command = PG_ENV + f" exec pg_dump --format=custom --snapshot={snapshot}"
    with target.open("wb") as out, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            ["docker", "exec", container, "sh", "-c", command], stdout=subprocess.PIPE, stderr=errors
        )
        assert process.stdout
        while chunk := process.stdout.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
        if process.wait() != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-2000:]
            raise BackupError(f"pg_dump failed (rc={process.returncode}): {message}")
    return digest.hexdigest(), size


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def remove_scratch(config: Config) -> None:
    """Scratch servers left by an interrupted run (a run holds the lock, so none of them is in use)."""
    ids = run(["docker", "ps", "-aq", "--filter", f"label={SCRATCH_LABEL}={config.project}"]).split()
    if ids:
        run(["docker", "rm", "-fv", *ids])


def restore_into_scratch(config: Config, image: str, env: dict[str, str], archive: Path) -> dict:
    """Restore the archive into a new server of the same image (no network, removed afterwards); its stats."""
    name = f"{config.project}-backup-verify-{os.getpid()}"
    # The scratch server makes its own throw-away password; it has no network, so nothing but `docker exec` reaches it.
    start = 'head -c 24 /dev/urandom | od -An -tx1 | tr -d " \\n" > /tmp/pw && exec postgres-entrypoint postgres'
    run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            f"{SCRATCH_LABEL}={config.project}",
            "--network",
            "none",
            "--shm-size",
            "128m",
            "-e",
            f"POSTGRES_USER={env['POSTGRES_USER']}",
            "-e",
            f"POSTGRES_DB={env['POSTGRES_DB']}",
            "-e",
            "POSTGRES_PASSWORD_FILE=/tmp/pw",
            "--entrypoint",
            "sh",
            image,
            "-c",
            start,
        ]
    )
    try:
        deadline = time.monotonic() + config.verify_timeout
        while True:
            ready = subprocess.run(
                ["docker", "exec", name, "sh", "-c", PG_ENV + " pg_isready -q && psql -X -q -c 'SELECT 1'"],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                logs = subprocess.run(
                    ["docker", "logs", "--tail", "20", name], capture_output=True, text=True, check=False
                )
                raise BackupError(f"the scratch server did not start within {config.verify_timeout}s: {logs.stderr}")
            time.sleep(0.5)
        with archive.open("rb") as f:
            run(
                [
                    "docker",
                    "exec",
                    "-i",
                    name,
                    "sh",
                    "-c",
                    PG_ENV + ' exec pg_restore --exit-on-error --single-transaction --dbname="$PGDATABASE"',
                ],
                input_file=f,
                timeout=max(600, config.verify_timeout),
            )
        session = Session(name)
        try:
            return table_stats(session)
        finally:
            session.close()
    finally:
        subprocess.run(["docker", "rm", "-fv", name], capture_output=True, check=False)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def manifests(backup_dir: Path) -> list[dict]:
    found = []
    for path in sorted(backup_dir.glob("*.json")):
        if path.name.endswith(".failed.json") or not NAME.match(path.stem):
            continue
        manifest = json.loads(path.read_text())
        if manifest.get("verified") and (backup_dir / f"{path.stem}.dump").exists():
            found.append(manifest)
    return found


def failed_names(backup_dir: Path) -> dict[str, str]:
    """{name: reason} of the dumps that failed verification."""
    failed = {}
    for path in sorted(backup_dir.glob("*.failed.json")):
        with contextlib.suppress(ValueError, OSError):
            failed[path.name.removesuffix(".failed.json")] = json.loads(path.read_text()).get("error", "")
    return failed


def apply_retention(config: Config) -> list[str]:
    doomed = retention_plan(manifests(config.backup_dir), list(failed_names(config.backup_dir)), config.retention)
    for name in doomed:
        for suffix in (".json", ".sha256", ".dump", ".failed", ".failed.json"):
            with contextlib.suppress(FileNotFoundError):
                (config.backup_dir / f"{name}{suffix}").unlink()
    return doomed


@contextlib.contextmanager
def locked(config: Config):
    """One run at a time per backup directory (the schedule and a playbook may meet)."""
    config.backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (config.backup_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- Commands ------------------------------------------------------------------------------------------------------


def cmd_backup(config: Config) -> dict:
    with locked(config):
        remove_scratch(config)
        container = container_of(config, config.postgres_service)
        details = inspect(container)
        image = details["Config"]["Image"]
        env = dict(item.split("=", 1) for item in details["Config"]["Env"])
        taken = {p.name.split(".", 1)[0] for p in config.backup_dir.iterdir()}
        now = datetime.now(UTC)
        name = backup_name(config.project, now, taken)
        partial = config.backup_dir / f"{name}.partial"
        started = time.monotonic()
        session = Session(container)
        try:
            session.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;")
            snapshot = session.query("SELECT pg_export_snapshot();")[0].strip()
            expected = table_stats(session)
            sha256, size = dump(container, snapshot, partial)
        finally:
            session.close()
        dumped = time.monotonic()
        manifest = {
            "name": name,
            "file": f"{name}.dump",
            "created": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "project": config.project,
            "user": env["POSTGRES_USER"],
            "database": env["POSTGRES_DB"],
            "image": image,
            "sha256": sha256,
            "bytes": size,
            "tables": expected,
            "dump_seconds": round(dumped - started, 2),
        }
        try:
            actual = restore_into_scratch(config, image, env, partial)
            problems = compare(expected, actual)
            if problems:
                raise BackupError("the restored copy differs from the database at dump time: " + "; ".join(problems))
        except BackupError as error:
            partial.replace(config.backup_dir / f"{name}.failed")
            manifest.update(verified=False, error=str(error), file=f"{name}.failed")
            write_atomically(config.backup_dir / f"{name}.failed.json", json.dumps(manifest, indent=2) + "\n")
            raise BackupError(f"backup {name} failed verification and is not kept as a good backup: {error}") from None
        manifest.update(verified=True, verify_seconds=round(time.monotonic() - dumped, 2))
        partial.replace(config.backup_dir / f"{name}.dump")
        write_atomically(config.backup_dir / f"{name}.sha256", f"{sha256}  {name}.dump\n")
        write_atomically(config.backup_dir / f"{name}.json", json.dumps(manifest, indent=2) + "\n")
        manifest["deleted"] = apply_retention(config)
        return manifest


def checked(config: Config, wanted: str) -> dict:
    """The chosen backup, its dump's sha256 checked against its manifest."""
    manifest = choose(manifests(config.backup_dir), failed_names(config.backup_dir), wanted)
    path = config.backup_dir / manifest["file"]
    actual = sha256_of(path)
    if actual != manifest["sha256"]:
        raise BackupError(
            f"{path} is damaged: its sha256 is {actual}, its manifest ({manifest['name']}.json) says "
            f"{manifest['sha256']}; restore another backup (iac-backup list)"
        )
    return manifest


def cmd_verify(config: Config, wanted: str) -> dict:
    with locked(config):
        manifest = checked(config, wanted)
        remove_scratch(config)
        env = {"POSTGRES_USER": manifest["user"], "POSTGRES_DB": manifest["database"]}
        actual = restore_into_scratch(config, manifest["image"], env, config.backup_dir / manifest["file"])
        problems = compare(manifest["tables"], actual)
        if problems:
            raise BackupError(f"backup {manifest['name']} does not restore to what it recorded: " + "; ".join(problems))
        return {"name": manifest["name"], "verified": True, "tables": actual}


def cmd_restore(config: Config, wanted: str, *, overwrite: bool, dry_run: bool) -> dict:
    """Replace the live database's objects with the backup's in one transaction (a failure leaves it as it was),
    check the restored tables against the manifest, then empty the cache (Redis) so that no page of the replaced data
    is served. Refuses a database with data unless `overwrite`. `dry_run`: only choose, check and refuse."""
    with locked(config):
        manifest = checked(config, wanted)
        container = container_of(config, config.postgres_service)
        before = live_stats(container)
        with_data = has_data(before, config.ignore_tables)
        if with_data and not overwrite:
            rows = ", ".join(f"{t} ({before[t]['rows']} rows)" for t in with_data)
            raise BackupError(
                f"the live database has data: {rows}; restoring {manifest['name']} would replace it. "
                "Set backup_restore_overwrite: true (iac-backup restore --overwrite) to replace it."
            )
        result = {
            "name": manifest["name"],
            "created": manifest["created"],
            "replaces": with_data,
            "rows": sum(t["rows"] for t in manifest["tables"].values()),
        }
        if dry_run:
            return result
        started = time.monotonic()
        with (config.backup_dir / manifest["file"]).open("rb") as f:
            run(
                [
                    "docker",
                    "exec",
                    "-i",
                    container,
                    "sh",
                    "-c",
                    PG_ENV + " exec pg_restore --clean --if-exists --exit-on-error --single-transaction"
                    ' --dbname="$PGDATABASE"',
                ],
                input_file=f,
                timeout=config.run_timeout,
            )
        result["restore_seconds"] = round(time.monotonic() - started, 2)
        after = live_stats(container)
        problems = compare(manifest["tables"], {t: after[t] for t in after if t in manifest["tables"]})
        if problems:
            raise BackupError(
                f"the database after restoring {manifest['name']} differs from it: " + "; ".join(problems)
            )
        result["other_tables"] = sorted(set(after) - set(manifest["tables"]))
        redis = container_of(config, config.redis_service)
        run(
            [
                "docker",
                "exec",
                redis,
                "sh",
                "-c",
                'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli --no-auth-warning -h 127.0.0.1 FLUSHALL',
            ]
        )
        return result


def timed_out(signum, frame):
    raise BackupError("the run took longer than run_timeout and was stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iac-backup", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", help="take a backup now")
    sub.add_parser("list", help="the good backups, newest first")
    sub.add_parser("counts", help="the live database's tables")
    verify = sub.add_parser("verify", help="check a kept backup again")
    verify.add_argument("name", nargs="?", default="", help="a backup's name (default: the newest good one)")
    restore = sub.add_parser("restore", help="restore a backup into the live database")
    restore.add_argument("name", nargs="?", default="", help="a backup's name (default: the newest good one)")
    restore.add_argument("--overwrite", action="store_true", help="replace a database that has data")
    restore.add_argument("--dry-run", action="store_true", help="only choose, check the backup and refuse")
    args = parser.parse_args(argv)
    config = Config.load()
    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(config.run_timeout)
    try:
        if args.command == "backup":
            result = cmd_backup(config)
        elif args.command == "list":
            config.backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            result = sorted(manifests(config.backup_dir), key=lambda m: (m["created"], m["name"]), reverse=True)
        elif args.command == "counts":
            result = live_stats(container_of(config, config.postgres_service))
        elif args.command == "verify":
            result = cmd_verify(config, args.name)
        else:
            result = cmd_restore(config, args.name, overwrite=args.overwrite, dry_run=args.dry_run)
    except (BackupError, subprocess.TimeoutExpired) as error:
        print(f"iac-backup {args.command}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
