"""pytest plugin of every suite under tests/ (pytest.ini loads it): a skipped test is not a pass.

A test that cannot run here (a missing cluster, tool or stack) must fail and say why; skipping it would let a
stage report PASS for something it never checked. Any skip makes the session fail, with the skipped tests named.
"""

from __future__ import annotations

import pytest

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module skipped while it is collected (pytest.importorskip, pytest.skip(allow_module_level=True)): none of
    its tests runs, so no test report says so."""
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped, and a skip is not a pass: {', '.join(_skipped)}", red=True
        )
