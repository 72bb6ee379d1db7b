"""Alert delivery: Alertmanager from its image, with the configuration the role renders, sends an alert to a real
webhook receiver on loopback and then its resolution; a receiver that refuses alerts shows up as failed
notifications (what AlertDeliveryFailing reads); the email and chat receivers' configurations are valid."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from conftest import render
from iac_testlib.alert_receiver import AlertReceiver
from monitoring_helpers import container, docker, free_port, http_get, image

ALERT = {
    "labels": {"alertname": "TargetDown", "severity": "critical", "slo": "availability", "job": "redis"},
    "annotations": {"summary": "redis target redis-exporter:9121 is down"},
}


def alertmanager(config_dir, port):
    """Alertmanager on the host's network, listening on loopback only, so that it reaches the loopback receiver."""
    args = (
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/var/lib/alertmanager",
        "--cluster.listen-address=",
        f"--web.listen-address=127.0.0.1:{port}",
    )
    return container(
        image("alertmanager"),
        *args,
        run_args=("--network", "host", "-v", f"{config_dir}/alertmanager:/etc/alertmanager:ro"),
    )


def post_alerts(port, alerts):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts", json.dumps(alerts).encode(), {"Content-Type": "application/json"}
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_an_alert_reaches_the_webhook_receiver_and_so_does_its_resolution(rendered, receiver):
    port = free_port()
    with alertmanager(rendered, port):
        sent = time.monotonic()
        post_alerts(port, [ALERT])
        firing = receiver.wait_for(
            lambda a: a["labels"]["alertname"] == "TargetDown" and a["status"] == "firing", timeout=60
        )
        delivered = time.monotonic() - sent
        ended = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        post_alerts(port, [{**ALERT, "endsAt": ended}])
        receiver.wait_for(lambda a: a["labels"]["alertname"] == "TargetDown" and a["status"] == "resolved", timeout=60)
    print(f"alert delivered to the webhook receiver {delivered:.1f} s after Alertmanager got it")
    assert firing["annotations"]["summary"] == ALERT["annotations"]["summary"]
    assert firing["labels"]["slo"] == "availability"


def test_a_receiver_that_refuses_alerts_shows_as_failed_notifications(tmp_path):
    with AlertReceiver(tmp_path / "refused.jsonl", status=500) as refusing:
        config = render(
            tmp_path / "config",
            "render-refusing-receiver",
            monitoring_alertmanager_webhook_url=refusing.url,
            monitoring_alertmanager_group_wait="1s",
        )
        port = free_port()
        with alertmanager(config, port):
            post_alerts(port, [ALERT])
            refusing.wait_for(lambda a: a["labels"]["alertname"] == "TargetDown", timeout=60)
            deadline = time.monotonic() + 30
            while True:
                text = http_get(f"http://127.0.0.1:{port}/metrics")
                failed = re.search(
                    r'^alertmanager_notification_requests_failed_total\{integration="webhook"\} (\S+)$',
                    text,
                    re.MULTILINE,
                )
                if (failed and float(failed.group(1)) > 0) or time.monotonic() > deadline:
                    break
                time.sleep(1)
    assert failed, "Alertmanager counts notifications by integration"
    assert float(failed.group(1)) > 0
    assert refusing.notifications()[0]["answered"] == 500


@pytest.mark.parametrize(
    ("variant", "settings", "found"),
    [
        (
            "email",
            {
                "monitoring_alertmanager_receiver": "email",
                "monitoring_alertmanager_email_to": "ops@example.org",
                "monitoring_alertmanager_email_from": "alerts@example.org",
                "monitoring_alertmanager_email_smarthost": "smtp.example.org:587",
                "monitoring_alertmanager_email_auth_username": "alerts",
                "monitoring_alertmanager_email_auth_password": "not-a-real-password",
            },
            "email_configs",
        ),
        (
            "chat",
            {
                "monitoring_alertmanager_receiver": "chat",
                "monitoring_alertmanager_chat_webhook_url": "https://chat.example.org/hooks/not-a-real-token",
                "monitoring_alertmanager_chat_channel": "#ops",
            },
            "slack_configs",
        ),
    ],
)
def test_the_email_and_chat_receivers_are_valid_alertmanager_configurations(tmp_path, variant, settings, found):
    config = render(tmp_path / "config", f"render-{variant}", **settings)
    text = (config / "alertmanager/alertmanager.yml").read_text()
    assert found in text
    done = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        f"{config}/alertmanager:/etc/alertmanager:ro",
        "--entrypoint",
        "amtool",
        image("alertmanager"),
        "check-config",
        "/etc/alertmanager/alertmanager.yml",
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_bad_receiver_url_stops_the_role_naming_it(tmp_path):
    from iac_testlib.ansible import playbook

    run = playbook(
        "tests/monitoring/render.yml",
        inventory="inventories/local",
        extra_vars={
            "monitoring_config_dir": str(tmp_path / "config"),
            "monitoring_alertmanager_webhook_url": "ftp://alerts.example.org/",
        },
        name="render-bad-receiver-url",
    )
    assert run.returncode != 0
    assert "monitoring_alertmanager_webhook_url: must be empty or an http(s) URL" in run.output
    assert run.changed == 0
    assert not (tmp_path / "config").exists(), "nothing was written"
