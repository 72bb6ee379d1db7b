#!/usr/bin/env python3
"""Benchmark backups and restores of the deployed stack on this host: times and size for 10,000 items (not a test).

1. a backup of the database as it is (B0, to put it back afterwards);
2. ITEMS new items through Nginx (POST /api/items, several clients);
3. a backup with them (playbooks/backup.yml): the play's wall time, and the script's dump and verify (restore into a
   scratch server, compare) times and the dump's size;
4. a restore of that backup over the live data (playbooks/restore.yml, overwrite): the play's wall time (app stopped,
   restored, stack health-gated again) and the script's pg_restore time;
5. a restore of B0, so the stack holds what it held before (its time is printed too).

Usage: bench/backup.py [--items 10000] [--clients 8]      (run from the project root, after `make deploy`)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = yaml.safe_load((ROOT / "group_vars/all/app.yml").read_text())
CA = f"{SETTINGS['app_stack_dir']}/tls/ca.crt"
BASE = "https://localhost"
BACKUP_DIR = Path(yaml.safe_load((ROOT / "roles/backup/defaults/main.yml").read_text())["backup_dir"])
PLAYBOOK = str(ROOT / ".venv/bin/ansible-playbook")


def play(path: str, **extra_vars) -> tuple[float, str]:
    started = time.monotonic()
    args = [PLAYBOOK, path] + (["-e", json.dumps(extra_vars)] if extra_vars else [])
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{path} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout


def newest_backup() -> dict:
    listed = subprocess.run(["/usr/local/sbin/iac-backup", "list"], check=True, capture_output=True, text=True)
    return json.loads(listed.stdout)[0]


def add_items(count: int, clients: int) -> float:
    tag = uuid.uuid4().hex[:8]

    def post(chunk: range) -> None:
        session = requests.Session()
        for n in chunk:
            body = {"name": f"bench-{tag}-{n}", "description": f"benchmark item {n} " + "x" * 64, "quantity": n % 1000}
            response = session.post(f"{BASE}/api/items", json=body, verify=CA, timeout=30)
            response.raise_for_status()

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, [range(i, count, clients) for i in range(clients)]))
    return time.monotonic() - started


def restored_seconds(output: str) -> float:
    match = re.search(r"rows\) in ([\d.]+) s", output)
    return float(match.group(1)) if match else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    play("playbooks/backup.yml")
    base = newest_backup()
    write_seconds = add_items(args.items, args.clients)
    backup_wall, _ = play("playbooks/backup.yml")
    taken = newest_backup()
    restore_wall, output = play(
        "playbooks/restore.yml", backup_restore_file=taken["name"], backup_restore_overwrite=True
    )
    back_wall, _ = play("playbooks/restore.yml", backup_restore_file=base["name"], backup_restore_overwrite=True)

    rows = taken["tables"]["public.items"]["rows"]
    print(f"\nbackup and restore of the stack's database: {rows} items ({args.items} added by this run)")
    print(f"{'measure':<44} {'value':>12}")
    for label, value in [
        (f"write {args.items} items via the API (s)", f"{write_seconds:.1f}"),
        ("backup: playbooks/backup.yml wall (s)", f"{backup_wall:.1f}"),
        ("backup: pg_dump + counts in its snapshot (s)", f"{taken['dump_seconds']:.2f}"),
        ("backup: verify in a scratch server (s)", f"{taken['verify_seconds']:.2f}"),
        ("backup: dump size (bytes)", f"{taken['bytes']}"),
        ("backup: dump size per item (bytes)", f"{taken['bytes'] / max(rows, 1):.1f}"),
        ("restore: playbooks/restore.yml wall (s)", f"{restore_wall:.1f}"),
        ("restore: pg_restore into the live db (s)", f"{restored_seconds(output):.2f}"),
        (f"put back the earlier backup ({base['tables']['public.items']['rows']} items) wall (s)", f"{back_wall:.1f}"),
    ]:
        print(f"{label:<44} {value:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
