"""ansible-playbook and ansible runs for tests: one runner, one recap parser, every run's output kept on disk.

    run = playbook("site.yml", "--check", extra_vars={"app_https_port": 70000}, name="bad-port")
    assert run.returncode != 0 and run.changed == 0, run.tail()

Each run's output goes to reports/tests/<suite>/<name>.log (suite: the calling test file's directory), with its
duration in durations.json beside it, so that a failed CI stage can be read afterwards.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .project import REPORTS, ROOT, VENV_BIN, ansible_env

# ansible's PLAY RECAP line: host : ok=N changed=N unreachable=N failed=N skipped=N rescued=N ignored=N
_RECAP = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", re.MULTILINE)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from the PLAY RECAP lines of an
    output (summed over every recap in it: a test may run several playbooks into one log)."""
    hosts: dict[str, dict[str, int]] = {}
    for host, counts in _RECAP.findall(output):
        row = hosts.setdefault(host, {})
        for key, value in re.findall(r"(\w+)=(\d+)", counts):
            row[key] = row.get(key, 0) + int(value)
    return hosts


@dataclass
class Run:
    """One run: its command, return code, output (stdout then stderr), seconds and recap per host."""

    name: str
    argv: list[str]
    returncode: int
    output: str = field(repr=False)
    seconds: float
    log: Path

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return parse_recap(self.output)

    @property
    def changed(self) -> int:
        return sum(row.get("changed", 0) for row in self.recap.values())

    @property
    def failed(self) -> int:
        return sum(row.get("failed", 0) + row.get("unreachable", 0) for row in self.recap.values())

    def tail(self, chars: int = 4000) -> str:
        return f"[{self.name}: rc={self.returncode}, log {self.log}]\n" + self.output[-chars:]


def _suite() -> str:
    """The directory name of the test file that called into this module (tests/stack -> stack)."""
    import inspect

    for frame in inspect.stack():
        path = Path(frame.filename)
        if path.name.startswith("test_") or path.name == "conftest.py":
            return path.parent.name
    return "misc"


def _record(name: str, argv: list[str], started: float, done: subprocess.CompletedProcess, suite: str) -> Run:
    seconds = round(time.monotonic() - started, 1)
    log_dir = REPORTS / "tests" / suite
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.log"
    output = (done.stdout or "") + (done.stderr or "")
    log.write_text(f"$ {' '.join(argv)}\n{output}")
    durations = log_dir / "durations.json"
    known = json.loads(durations.read_text()) if durations.exists() else {}
    known[name] = {"seconds": seconds, "returncode": done.returncode}
    durations.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    print(f"[{suite}] {name}: rc={done.returncode} in {seconds:.0f}s (log {log})", flush=True)
    return Run(name, argv, done.returncode, output, seconds, log)


def _extra_args(extra_vars: dict | None) -> list[str]:
    return ["-e", json.dumps(extra_vars)] if extra_vars else []


def playbook(
    path: str,
    *args: str,
    inventory: str | None = None,
    extra_vars: dict | None = None,
    name: str | None = None,
    timeout: int = 2400,
    env: dict[str, str] | None = None,
) -> Run:
    """Run ansible-playbook from the project root (so ansible.cfg and group_vars apply)."""
    argv = [str(VENV_BIN / "ansible-playbook"), *(["-i", inventory] if inventory else []), path]
    argv += _extra_args(extra_vars) + list(args)
    suite = _suite()
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, env=env or ansible_env(), timeout=timeout, check=False
    )
    return _record(name or Path(path).stem, argv, started, done, suite)


def adhoc(
    pattern: str,
    module: str,
    module_args: str = "",
    *args: str,
    inventory: str | None = None,
    name: str | None = None,
    timeout: int = 900,
    env: dict[str, str] | None = None,
) -> Run:
    """Run one module with `ansible` (e.g. a role's teardown: include_role with tasks_from)."""
    argv = [str(VENV_BIN / "ansible"), *(["-i", inventory] if inventory else []), pattern, "-m", module]
    argv += (["-a", module_args] if module_args else []) + list(args)
    suite = _suite()
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, env=env or ansible_env(), timeout=timeout, check=False
    )
    return _record(name or f"adhoc-{module.rsplit('.', 1)[-1]}", argv, started, done, suite)


def evaluated(variable: str, inventory: str | None = None) -> str:
    """A string setting as the plays see it (group_vars with their Jinja evaluated) for the inventory's first host,
    e.g. app_public_hostname ("{{ inventory_hostname }}" in group_vars/all)."""
    run = adhoc(
        "all[0]",
        "ansible.builtin.debug",
        f"msg=VALUE<{{{{ {variable} }}}}>",
        inventory=inventory,
        name=f"evaluate-{variable}",
        timeout=120,
    )
    assert run.returncode == 0, run.tail()
    found = re.search(r"VALUE<([^>]*)>", run.output)
    assert found, run.tail()
    return found.group(1)
