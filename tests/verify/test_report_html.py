"""The HTML report in a real headless browser (Debian's chromium): it renders, shows for every check the status
the JSON report has, and a screenshot is kept in reports/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from iac_testlib.project import REPORTS

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium(*args, profile):
    binary = shutil.which("chromium")
    assert binary, "chromium is not installed: `make browser` installs Debian's"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_html_report_shows_the_statuses_of_the_json(healthy, tmp_path):
    page = healthy.reports / "verify-localhost.html"
    report = json.loads((healthy.reports / "verify-localhost.json").read_text())
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile-dom").stdout
    shown = dict(
        re.findall(
            r'<tr data-check="([^"]+)" data-status="[^"]+"><td>[^<]*</td><td>.*?</td><td>.*?</td>'
            r'<td class="status"[^>]*>([A-Z]+)</td>',
            dom,
        )
    )
    assert shown == {c["name"]: c["status"].upper() for c in report["checks"]}
    assert f'data-result="{report["result"]}"' in dom
    assert dom.count("<svg") == len(report["distributions"]) > 0
    REPORTS.mkdir(exist_ok=True)
    screenshot = REPORTS / "verify-report.png"
    chromium(f"--screenshot={screenshot}", "--window-size=1400,3000", page.as_uri(), profile=tmp_path / "profile-shot")
    assert screenshot.stat().st_size > 10_000
