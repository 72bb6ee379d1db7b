"""The no-skip plugin (iac_testlib.plugin, which the root pytest.ini loads), in pytest sessions of their own: a
skipped test fails the session and is named; a session without a skip keeps its result.

Each session runs in a subprocess: the plugin keeps the skips it saw in its module, which an in-process session
(pytester's runpytest) would share with this one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from iac_testlib.project import ROOT

PASSING = "def test_passes():\n    assert True\n"


def session(tmp_path, files: dict[str, str]) -> subprocess.CompletedProcess:
    # An ini of its own makes tmp_path the session's root: the project's pytest.ini (and its -p) does not apply.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "lib"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "iac_testlib.plugin", "-p", "no:cacheprovider", "-q", *files],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "skipped",
    [
        '@pytest.mark.skip(reason="no cluster here")\ndef test_skipped():\n    pass\n',
        '@pytest.mark.skipif(True, reason="no stack here")\ndef test_skipped():\n    pass\n',
        'def test_skipped():\n    pytest.skip("trivy is missing")\n',
        '@pytest.fixture\ndef stack():\n    pytest.skip("no stack")\n\n\ndef test_skipped(stack):\n    pass\n',
    ],
    ids=["mark", "skipif", "in-test", "in-fixture"],
)
def test_a_session_with_a_skipped_test_fails_naming_it(tmp_path, skipped):
    done = session(tmp_path, {"test_sample.py": f"import pytest\n\n\n{PASSING}\n\n{skipped}"})
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "1 passed, 1 skipped" in done.stdout
    assert "FAILED: 1 test(s) skipped, and a skip is not a pass: test_sample.py::test_skipped" in done.stdout, (
        done.stdout
    )


def test_a_session_without_a_skip_keeps_its_result(tmp_path):
    """An expected failure (xfail) is not a skip: the session passes; a failure still fails it."""
    xfail = '@pytest.mark.xfail(reason="known bug", strict=True)\ndef test_known_bug():\n    assert False\n'
    done = session(tmp_path, {"test_sample.py": f"import pytest\n\n\n{PASSING}\n\n{xfail}"})
    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert "skip is not a pass" not in done.stdout
    failing = session(tmp_path, {"test_sample.py": "def test_fails():\n    assert False\n"})
    assert failing.returncode == pytest.ExitCode.TESTS_FAILED, failing.stdout


def test_a_module_skipped_at_collection_fails_the_session_naming_it(tmp_path):
    """pytest.importorskip or pytest.skip(allow_module_level=True) skips a whole module while it is collected, before
    any of its tests runs: beside a passing module, that session exited 0."""
    skipped = 'import pytest\n\npytest.importorskip("no_such_module_of_iac")\n\n\ndef test_never_run():\n    pass\n'
    done = session(tmp_path, {"test_skipped_module.py": skipped, "test_sample.py": PASSING})
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "FAILED: 1 test(s) skipped, and a skip is not a pass: test_skipped_module.py" in done.stdout, done.stdout
