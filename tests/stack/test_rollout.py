"""Blue/green rollouts of the app on the stack deployed on this machine, under load.

A new app image must take over with no failed request; an unhealthy one must never take traffic, and the release
that ran before must keep running.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from stackctl import BASE, CA, ROOT, STACK_DIR, ansible_env, compose
from urllib3.util.retry import Retry

RELEASE = Path(STACK_DIR) / "release.json"
pytestmark = pytest.mark.slow


def release() -> dict:
    return json.loads(RELEASE.read_text())


def deploy(images: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "playbooks/deploy.yml",
            "--tags",
            "stack",
            "-e",
            json.dumps({"app_stack_images": images}),
            *extra,
        ],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        env=ansible_env(),
    )


class Load:
    """Clients that keep reading and writing through Nginx and count every failed request.

    Like browsers and HTTP libraries that follow RFC 9112 (9.3.1), a GET that dies on a kept-alive connection
    the server closed before answering (Nginx closes idle ones when it reloads) is sent again once; writes go on
    fresh connections, so they never meet that race and are never repeated.
    """

    def __init__(self, clients: int = 4):
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(clients)]

    @staticmethod
    def reader() -> requests.Session:
        session = requests.Session()
        retry = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods={"GET"})
        session.mount("https://", HTTPAdapter(max_retries=retry))
        return session

    def client(self, number: int) -> None:
        session = self.reader()
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            try:
                if sequence % 5 == 0:
                    item = {"name": f"load-{number}-{sequence}"}
                    response = requests.post(f"{BASE}/api/items", json=item, verify=CA, timeout=10)
                    expected = 201
                else:
                    url = f"{BASE}/api/health" if sequence % 2 else f"{BASE}/api/items"
                    response = session.get(url, verify=CA, timeout=10)
                    expected = 200
                outcome = None if response.status_code == expected else f"{response.status_code} {response.url}"
            except requests.RequestException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            with self.lock:
                if outcome:
                    self.failures.append(outcome)
                else:
                    self.ok += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        time.sleep(1)
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def app_containers() -> list[str]:
    return sorted(
        json.loads(line)["Service"]
        for line in compose("ps", "--format", "json").splitlines()
        if line.strip() and json.loads(line)["Service"].startswith("flask")
    )


def retag(image: str, suffix: str) -> str:
    new = f"{image}-{suffix}"
    subprocess.run(["docker", "tag", image, new], check=True)
    subprocess.run(["docker", "push", "-q", new], check=True, capture_output=True)
    return new


def test_a_new_app_image_takes_over_with_no_failed_request_and_back():
    before = release()
    new_app = retag(before["images"]["app"], "rollout")
    with Load() as load:
        result = deploy({**before["images"], "app": new_app})
    assert result.returncode == 0, result.stdout[-3000:]
    assert load.failures == [], load.failures[:10]
    assert load.ok > 50
    after = release()
    assert after["images"]["app"] == new_app
    assert after["color"] != before["color"]
    assert app_containers() == [f"flask-{after['color']}"]

    with Load() as load:
        result = deploy(before["images"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert load.failures == [], load.failures[:10]
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
    with Load() as load:
        result = deploy({**before["images"], "app": broken}, "-e", "app_stack_health_timeout=30")
    assert result.returncode != 0
    assert "did not become healthy" in result.stdout
    assert "runs again" in result.stdout
    assert load.failures == [], load.failures[:10]
    assert release() == before
    assert app_containers() == [f"flask-{before['color']}"]
    assert requests.get(f"{BASE}/api/health", verify=CA, timeout=10).status_code == 200
