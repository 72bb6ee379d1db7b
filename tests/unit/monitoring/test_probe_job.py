"""verify reads its availability history (uptime, MTBF, MTTR) from the blackbox probes the monitoring role makes
Prometheus scrape: both sides are rendered here by Ansible's own templating from the project's settings (role
defaults under group_vars/all, as a play sees them), and the job verify queries must be a probe job of the rendered
prometheus.yml. (It was not: verify asked for job="blackbox-https", the role named its job probe-https, and the
history would have been empty.)"""

from __future__ import annotations

import re

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.iac.core.plugins.module_utils.verify import history
from iac_testlib.project import ROOT


def trusted(value):
    """Values read from the project's YAML, trusted as templates as Ansible trusts its own variable files."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    return value


@pytest.fixture
def templar() -> Templar:
    """The variables of a play on a Docker host: the two roles' defaults, then group_vars/all over them."""
    variables: dict = {}
    for role in ("monitoring", "verify"):
        variables.update(yaml.safe_load((ROOT / f"roles/{role}/defaults/main.yml").read_text()))
    for path in sorted((ROOT / "group_vars/all").glob("*.yml")):
        variables.update(yaml.safe_load(path.read_text()) or {})
    # What the template needs besides the settings (the role computes the timeout with one of its own filters).
    variables.update(ansible_managed="managed", inventory_hostname="localhost", __monitoring_scrape_timeout="10s")
    return Templar(loader=DataLoader(), variables=trusted(variables))


def probe_jobs(templar: Templar) -> set[str]:
    """The jobs of the rendered prometheus.yml that go through the blackbox exporter (metrics_path /probe)."""
    text = (ROOT / "roles/monitoring/templates/prometheus.yml.j2").read_text()
    config = yaml.safe_load(templar.template(trust_as_template(text)))
    return {job["job_name"] for job in config["scrape_configs"] if job["metrics_path"] == "/probe"}


def queried_jobs(templar: Templar) -> set[str]:
    """The job label of every query verify sends to Prometheus for the history."""
    series = templar.template(trust_as_template("{{ verify_prometheus_series }}"))
    return {job for query in history.queries(series, 30).values() for job in re.findall(r'job="([^"]+)"', query)}


def test_verify_queries_the_probe_job_that_prometheus_scrapes(templar):
    scraped = probe_jobs(templar)
    assert scraped, "the rendered prometheus.yml has no blackbox probe job"
    assert queried_jobs(templar) == {"probe-https"}
    assert queried_jobs(templar) <= scraped


def test_a_renamed_probe_job_is_followed_by_verify(templar):
    templar.available_variables = {**templar.available_variables, "monitoring_probe_job": "public-endpoints"}
    assert probe_jobs(templar) == {"public-endpoints"}
    assert queried_jobs(templar) == {"public-endpoints"}
