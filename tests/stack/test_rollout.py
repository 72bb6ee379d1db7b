"""Blue/green rollouts of the app on the stack deployed on this machine, under load.

A new app image or new app settings must take over with no failed request; an unhealthy app (a bad image, or a
setting it cannot start with) must never take traffic, and the release that ran before (its image and its settings)
must keep running.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from iac_testlib.probe import Probe
from stackctl import BASE, CA, STACK_DIR, deploy, services

RELEASE = Path(STACK_DIR) / "release.json"
pytestmark = pytest.mark.slow


def release() -> dict:
    return json.loads(RELEASE.read_text())


def roll_out(images: dict, name: str, **settings):
    return deploy("--tags", "stack", extra_vars={"app_images": images, **settings}, name=name)


def reads_and_writes(sequence: int) -> tuple[requests.Response, int]:
    """Every fifth request writes an item, the others read the health and the items (each on a new connection)."""
    headers = {"Connection": "close"}
    if sequence % 5 == 0:
        return requests.post(
            f"{BASE}/api/items", json={"name": f"load-{sequence}"}, headers=headers, verify=CA, timeout=10
        ), 201
    url = f"{BASE}/api/health" if sequence % 2 else f"{BASE}/api/items"
    return requests.get(url, headers=headers, verify=CA, timeout=10), 200


def app_containers() -> list[str]:
    return sorted(row["Service"] for row in services() if row["Service"].startswith("flask"))


def live_environment() -> dict:
    """The environment of the app container Nginx sends the traffic to."""
    name = next(row["Name"] for row in services() if row["Service"] == f"flask-{release()['color']}")
    inspected = json.loads(subprocess.run(["docker", "inspect", name], check=True, capture_output=True).stdout)
    return dict(entry.split("=", 1) for entry in inspected[0]["Config"]["Env"])


def retag(image: str, suffix: str) -> str:
    new = f"{image}-{suffix}"
    subprocess.run(["docker", "tag", image, new], check=True)
    subprocess.run(["docker", "push", "-q", new], check=True, capture_output=True)
    return new


def test_a_new_app_image_takes_over_with_no_failed_request_and_back():
    before = release()
    new_app = retag(before["images"]["app"], "rollout")
    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out({**before["images"], "app": new_app}, "blue-green")
    assert run.returncode == 0, run.tail()
    assert load.failures == [], load.summary()
    assert load.total > 50, load.summary()
    after = release()
    assert after["images"]["app"] == new_app
    assert after["color"] != before["color"]
    assert app_containers() == [f"flask-{after['color']}"]

    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out(before["images"], "blue-green-back")
    assert run.returncode == 0, run.tail()
    assert load.failures == [], load.summary()
    assert release()["images"] == before["images"]
    assert app_containers() == [f"flask-{release()['color']}"]


def test_an_unhealthy_app_image_never_takes_traffic_and_the_running_release_stays():
    before = release()
    broken = f"{before['images']['app']}-broken"
    subprocess.run(
        ["docker", "build", "-q", "-t", broken, "-"],
        input=f'FROM {before["images"]["app"]}\nCMD ["python3", "-c", "raise SystemExit(3)"]\n',
        check=True,
        capture_output=True,
        text=True,
    )
    subprocess.run(["docker", "push", "-q", broken], check=True, capture_output=True)
    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out({**before["images"], "app": broken}, "unhealthy-image", app_rollout_timeout=30)
    assert run.returncode != 0, run.tail()
    assert "did not become healthy" in run.output, run.tail()
    assert "runs again" in run.output, run.tail()
    assert load.failures == [], load.summary()
    assert release() == before
    assert app_containers() == [f"flask-{before['color']}"]
    assert requests.get(f"{BASE}/api/health", verify=CA, timeout=10).status_code == 200


def test_a_changed_app_setting_rolls_out_blue_green_and_back():
    before = release()
    changed = {**before["app_settings"]["environment"], "GUNICORN_KEEPALIVE": "7"}
    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out(before["images"], "setting-blue-green", app_flask_environment=changed)
    assert run.returncode == 0, run.tail()
    assert load.failures == [], load.summary()
    assert load.total > 50, load.summary()
    after = release()
    assert after["color"] != before["color"]
    assert after["app_settings"]["environment"] == changed
    assert live_environment()["GUNICORN_KEEPALIVE"] == "7"
    assert app_containers() == [f"flask-{after['color']}"]

    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out(before["images"], "setting-back")
    assert run.returncode == 0, run.tail()
    assert load.failures == [], load.summary()
    assert release()["app_settings"] == before["app_settings"]
    assert "GUNICORN_KEEPALIVE" not in live_environment()


def test_an_app_setting_the_app_cannot_start_with_is_rolled_back_with_the_running_settings():
    """Before a release was its images and settings, the live colour was recreated in place with the new setting,
    and putting the previous image back kept it: the app was down until someone reverted the setting."""
    before = release()
    broken = {**before["app_settings"]["environment"], "GUNICORN_WORKER_CLASS": "no_such_worker"}
    with Probe(reads_and_writes, clients=4) as load:
        run = roll_out(before["images"], "unstartable-setting", app_flask_environment=broken, app_rollout_timeout=30)
    assert run.returncode != 0, run.tail()
    assert "did not become healthy" in run.output, run.tail()
    assert "runs again" in run.output, run.tail()
    assert load.failures == [], load.summary()
    assert release() == before
    assert live_environment().get("GUNICORN_WORKER_CLASS") == before["app_settings"]["environment"].get(
        "GUNICORN_WORKER_CLASS"
    )
    assert app_containers() == [f"flask-{before['color']}"]
    assert requests.get(f"{BASE}/api/health", verify=CA, timeout=10).status_code == 200
