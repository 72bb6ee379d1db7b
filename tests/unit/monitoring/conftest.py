"""Fixtures of the monitoring unit tests: the project's own settings, and the container exporter on sys.path.

The rule generator is imported as ansible_collections.iac.core.plugins.module_utils.monitoring_rules (pytest.ini puts
collections/ on the path). The container exporter is a script inside an image's build context, so its directory is
put on sys.path here.
"""

from __future__ import annotations

import copy
import sys

import jinja2
import pytest
import yaml
from iac_testlib.project import ROOT, settings

EXPORTER_DIR = ROOT / "roles/monitoring/files/images/container-exporter"
sys.path.insert(0, str(EXPORTER_DIR))


def project_settings() -> dict:
    """group_vars/all and the monitoring role's defaults, with the role defaults' templates rendered."""
    merged = copy.deepcopy(settings())
    defaults = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(value):
        if isinstance(value, str):
            return environment.from_string(value).render(merged)
        if isinstance(value, list):
            return [render(item) for item in value]
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        return value

    merged.update({name: render(value) for name, value in defaults.items()})
    return merged


@pytest.fixture
def project():
    """A fresh copy of the project's settings for each test, free to change."""
    return project_settings()
