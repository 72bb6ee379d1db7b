"""Where the project is, the settings its group_vars give, and the environment test runs of Ansible get."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = ROOT / ".venv" / "bin"
REPORTS = ROOT / "reports"


@cache
def settings() -> dict:
    """Every setting of group_vars/all/*.yml, as written (Jinja expressions are not evaluated)."""
    merged: dict = {}
    for path in sorted((ROOT / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def ansible_env(**extra: str) -> dict[str, str]:
    """The caller's environment (HOME, ARTIFACTS_DIR, PATH to go, ...) with the project's venv first on PATH and
    colour off, so that outputs can be searched."""
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PY_COLORS": "0",
        **extra,
    }
