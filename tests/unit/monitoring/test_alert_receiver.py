"""The tests' webhook receiver: a real HTTP server on loopback that records what Alertmanager would POST."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from iac_testlib.alert_receiver import AlertReceiver, serve

NOTIFICATION = {
    "version": "4",
    "status": "firing",
    "receiver": "webhook",
    "alerts": [{"status": "firing", "labels": {"alertname": "TargetDown", "severity": "critical"}}],
}


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_it_records_each_notification_as_a_json_line(tmp_path):
    with AlertReceiver(tmp_path / "alerts.jsonl") as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert post(receiver.url + "alerts", NOTIFICATION) == 200
        alert = receiver.wait_for(lambda a: a["labels"]["alertname"] == "TargetDown", timeout=5)
    assert alert["status"] == "firing"
    line = json.loads((tmp_path / "alerts.jsonl").read_text().splitlines()[0])
    assert (line["path"], line["answered"], line["payload"]) == ("/alerts", 200, NOTIFICATION)


def test_a_refusing_receiver_answers_500_and_still_records(tmp_path):
    with AlertReceiver(tmp_path / "alerts.jsonl", status=500) as receiver:
        assert post(receiver.url, NOTIFICATION) == 500
        assert receiver.notifications()[0]["answered"] == 500


def test_waiting_for_an_alert_that_never_comes_names_what_came(tmp_path):
    with AlertReceiver(tmp_path / "alerts.jsonl") as receiver:
        post(receiver.url, NOTIFICATION)
        with pytest.raises(AssertionError, match="TargetDown"):
            receiver.wait_for(lambda a: a["labels"]["alertname"] == "DiskFull", timeout=0.5)


def test_it_listens_on_loopback_only(tmp_path):
    with pytest.raises(SystemExit, match="not a loopback address"):
        serve(tmp_path / "x.jsonl", host="0.0.0.0")
