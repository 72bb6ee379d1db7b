"""Fixtures of the monitoring tests: the images, a webhook receiver on loopback, and the role's configuration
rendered by Ansible (tests/monitoring/render.yml) into a scratch directory."""

from __future__ import annotations

import pytest
from iac_testlib.alert_receiver import AlertReceiver
from iac_testlib.ansible import playbook
from monitoring_helpers import image


@pytest.fixture(scope="session")
def prometheus_image():
    return image("prometheus")


@pytest.fixture(scope="session")
def receiver(tmp_path_factory):
    with AlertReceiver(tmp_path_factory.mktemp("receiver") / "alerts.jsonl") as running:
        yield running


def render(directory, name: str, **settings):
    """The monitoring role's files for these settings (extra vars), written into `directory`."""
    run = playbook(
        "tests/monitoring/render.yml",
        inventory="inventories/local",
        extra_vars={"monitoring_config_dir": str(directory), **settings},
        name=name,
    )
    assert run.returncode == 0, run.tail()
    return directory


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, receiver):
    """The project's settings, Alertmanager sending to the test receiver without waiting to group alerts."""
    return render(
        tmp_path_factory.mktemp("monitoring"),
        "render-default",
        monitoring_alertmanager_webhook_url=receiver.url + "alerts",
        monitoring_alertmanager_group_wait="1s",
        monitoring_alertmanager_group_interval="1s",
    )
