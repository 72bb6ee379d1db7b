"""The report: JSON document, table and summary, the self-contained HTML page with its latency charts."""

from __future__ import annotations

import re

from ansible_collections.iac.core.plugins.module_utils.verify import checks, report
from conftest import RECORDED, data, ran, text

META = {
    "host": "localhost",
    "project": "iacv",
    "started": RECORDED,
    "finished": RECORDED,
    "check_mode": False,
    "tags": ["all"],
}


def built(settings):
    runs = [ran(text("wrk-root.txt"), item="/")]
    raw = {
        "now": RECORDED,
        "host": {"cpus": 2, "memory": 1},
        "tls": data("tls-weak-server.json"),
        "performance": {"load": {"runs": runs}},
        "availability": {},
        "containers": data("docker-inspect.json"),
    }
    return checks.build(raw, settings)


def test_document_gates_on_fail_and_error_and_unavailable_only_when_required(settings):
    doc = report.document(built(settings), META, False)
    assert doc["result"] == "fail"
    assert "tls.certificate_name" in doc["failed"]
    assert "performance.cpu_host" in doc["failed"]
    assert "availability.uptime" not in doc["failed"]
    assert "availability.uptime" in report.document(built(settings), META, True)["failed"]
    assert sum(doc["counts"].values()) == len(doc["checks"])
    assert doc["distributions"][0]["target"] == "/"


def test_summary_lists_failures_and_what_was_not_checked(settings):
    summary = report.summary(report.document(built(settings), META, False))
    assert re.search(r"CHECK +VALUE +THRESHOLD +STATUS", summary)
    assert "RESULT: FAIL (" in summary
    assert "tls.certificate_name" in summary.split("RESULT: FAIL", 1)[1]
    # Each failed check gets a line with its value, its threshold and why, the run's last lines in a CI log.
    lines = report.failures(report.document(built(settings), META, False)).splitlines()
    assert lines
    assert all(" (needs " in line for line in lines)
    assert "performance.throughput_/ = 164.3 req/s (needs > 1000 req/s): 520 requests in 3.16 s" in lines[5]
    assert "performance.cpu_host = - (needs < 70 %): no aggregate cpu line in /proc/stat" in lines
    assert "NOT CHECKED (not passes): 3: availability.uptime, availability.mtbf, availability.mttr" in summary


def test_html_is_self_contained_with_one_row_per_check_and_a_chart_per_run(settings):
    doc = report.document(built(settings), META, False)
    page = report.html_page(doc)
    assert not re.search(r"(src|href)=\"?https?:", page)
    rows = re.findall(r'<tr data-check="([^"]+)" data-status="([^"]+)">', page)
    assert rows == [(c["name"], c["status"]) for c in doc["checks"]]
    assert page.count("<svg") == 1
    assert "p99.9: 535.272 ms" in page
    assert 'data-result="fail"' in page
    assert 'id="not-checked"' in page
    assert 'data-check="availability.mtbf"' in page


def test_values_as_the_table_shows_them():
    assert report.show(None) == "-"
    assert report.show(True) == "yes"
    assert report.show([]) == "none"
    assert report.show(3.14159, "ms") == "3.14 ms"
    assert report.show(["a", "b"]) == "a, b"
