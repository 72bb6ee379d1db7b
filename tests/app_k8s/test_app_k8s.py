"""The application on the real cluster, deployed by playbooks/app_k8s.yml (inventories/local-k8s).

The tests run in file order: the first run deploys; then the Services, the data path and the security settings are
checked; a second run and a check run must change nothing; last, a broken app image must fail the play while the
old pods keep serving, and a normal run restores the release.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
import requests
from app_k8s_helpers import (
    INVENTORY,
    NAMESPACE,
    SERVICES,
    SETTINGS,
    converged_run,
    health,
    image_sources,
    in_pool,
    pod_exec,
    pod_ready,
    pods,
    ready_pods,
    run_playbook,
    secret_values,
    service_address,
)
from iac_testlib.ansible import evaluated
from iac_testlib.probe import Probe
from iac_testlib.wait import wait_for

WORKLOADS = {"flask": 2, "postgres": 1, "redis": 1, "nginx": 2}


@pytest.fixture(scope="module")
def flask_url(core, deployed):
    address = wait_for(lambda: service_address(core, NAMESPACE, SERVICES["flask"]), what="flask-service's address")
    return f"http://{address}"


@pytest.fixture(scope="module")
def nginx_address(core, deployed):
    return wait_for(lambda: service_address(core, NAMESPACE, SERVICES["nginx"]), what="nginx-service's address")


@pytest.fixture(scope="module")
def ca_file(core, deployed):
    with tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False) as handle:
        handle.write(secret_values(core, "nginx-tls")["ca.crt"])
    yield handle.name
    Path(handle.name).unlink()


def test_every_pod_is_ready_and_runs_an_image_from_the_registry(core, apps, deployed):
    for app, replicas in WORKLOADS.items():
        ready = ready_pods(core, NAMESPACE, app)
        assert len(ready) == replicas, f"{app}: {len(ready)} of {replicas} pods ready"
        for pod in ready:
            image = pod.spec.containers[0].image
            assert image.startswith(f"{SETTINGS['registry_address']}/{SETTINGS['registry_namespace']}/"), image
    flask = apps.read_namespaced_deployment("flask", NAMESPACE).spec
    assert flask.strategy.rolling_update.max_unavailable == 0
    assert flask.template.spec.containers[0].readiness_probe.http_get.path == "/api/health"
    assert flask.template.spec.containers[0].liveness_probe.http_get.path == "/health"


def test_flask_service_is_the_seed_loadbalancer_with_an_address_from_the_pool(core, flask_url):
    service = core.read_namespaced_service(SERVICES["flask"], NAMESPACE)
    assert service.spec.type == "LoadBalancer"
    assert service.spec.selector == {"app": "flask"}
    (port,) = service.spec.ports
    assert (port.port, port.target_port) == (80, 5000)
    address = flask_url.removeprefix("http://")
    assert in_pool(address, SETTINGS["k8s_lb_pool"]), f"{address} is not in k8s_lb_pool {SETTINGS['k8s_lb_pool']}"


def test_database_and_cache_are_cluster_internal_services(core, deployed):
    for name, port in (("postgres", 5432), ("redis", 6379)):
        service = core.read_namespaced_service(SERVICES[name], NAMESPACE)
        assert service.spec.type == "ClusterIP"
        assert [p.port for p in service.spec.ports] == [port]


def test_api_health_answers_through_the_loadbalancer(flask_url):
    response = wait_for(lambda: health(flask_url), timeout=60, what="/api/health through flask-service")
    assert response.json()["checks"]["postgres"]["status"] == "ok"


def test_nginx_serves_tls_with_the_cluster_ca_and_redirects_http(nginx_address, ca_file):
    response = wait_for(
        lambda: health(f"https://{nginx_address}", verify=ca_file),
        timeout=60,
        what="/api/health through nginx-service over TLS",
    )
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"
    redirect = requests.get(f"http://{nginx_address}/api/health", allow_redirects=False, timeout=5)
    assert redirect.status_code == 301
    # To the public name (app_public_hostname), whatever Host the client sent.
    assert redirect.headers["Location"] == f"https://{evaluated('app_public_hostname', INVENTORY)}/api/health"


def create_item(base_url, **kwargs):
    name = f"k8s-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{base_url}/api/items", json={"name": name, "description": "app_k8s test", "quantity": 7}, timeout=10, **kwargs
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_item_written_through_the_loadbalancer_is_read_back(flask_url, nginx_address, ca_file):
    item = create_item(flask_url)
    read = requests.get(f"{flask_url}/api/items/{item['id']}", timeout=10)
    assert read.status_code == 200
    assert read.json() == item
    through_nginx = requests.get(f"https://{nginx_address}/api/items/{item['id']}", verify=ca_file, timeout=10)
    assert through_nginx.json() == item


def psql(core, pod, sql):
    command = [
        "sh",
        "-c",
        'PGPASSWORD="$(cat /run/secrets/postgres_password)" '
        f'psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tA -c "{sql}"',
    ]
    return pod_exec(core, NAMESPACE, pod, "postgres", command).strip()


def test_an_item_survives_the_deletion_of_the_postgres_pod(core, flask_url):
    item = create_item(flask_url)
    (old,) = pods(core, NAMESPACE, "postgres")
    claim = core.read_namespaced_persistent_volume_claim("data-postgres-0", NAMESPACE)
    assert claim.status.phase == "Bound"

    core.delete_namespaced_pod(old.metadata.name, NAMESPACE)
    new = wait_for(
        lambda: [p for p in ready_pods(core, NAMESPACE, "postgres") if p.metadata.uid != old.metadata.uid],
        timeout=240,
        what="a new postgres pod to be ready",
    )[0]
    # Straight from the database in the new pod, not from the app's Redis cache.
    assert psql(core, new.metadata.name, f"SELECT name FROM items WHERE id = {item['id']}") == item["name"]
    again = core.read_namespaced_persistent_volume_claim("data-postgres-0", NAMESPACE)
    assert again.spec.volume_name == claim.spec.volume_name
    wait_for(lambda: health(flask_url), timeout=120, what="the app to reconnect to the new postgres pod")
    read = requests.get(f"{flask_url}/api/items/{item['id']}", timeout=10)
    assert read.json()["name"] == item["name"]


def test_no_container_runs_as_root_and_roots_are_read_only(core, apps, deployed):
    for app in WORKLOADS:
        pod = ready_pods(core, NAMESPACE, app)[0]
        container = pod.spec.containers[0]
        assert container.security_context.read_only_root_filesystem is True, app
        assert container.security_context.allow_privilege_escalation is False, app
        uid = pod_exec(core, NAMESPACE, pod.metadata.name, container.name, ["id", "-u"]).strip()
        assert uid.isdigit(), f"{app}: id -u answered {uid!r}"
        assert int(uid) != 0, f"{app} runs as root"
        probe = pod_exec(core, NAMESPACE, pod.metadata.name, container.name, ["touch", "/probe"])
        assert "Read-only file system" in probe, f"{app}: {probe!r}"


def test_secrets_reach_the_pods_as_files_only(core, apps, deployed):
    values = secret_values(core)
    assert sorted(values) == ["database-url", "postgres-password", "redis-password", "redis-url", "secret-key"]
    for key in ("postgres-password", "redis-password"):
        assert len(values[key]) >= 16
    assert len(values["secret-key"]) >= 32
    secrets = [values[key] for key in ("postgres-password", "redis-password", "secret-key")]
    workloads = apps.list_namespaced_deployment(NAMESPACE).items + apps.list_namespaced_stateful_set(NAMESPACE).items
    for workload in workloads:
        template = str(workload.spec.template.to_dict())
        for value in secrets:
            assert value not in template, f"a secret value is written into {workload.metadata.name}'s pod template"
    for value in secrets:
        assert value not in deployed.output, "a secret value appears in the playbook's output"


def test_a_second_run_changes_nothing(core, deployed):
    before = secret_values(core)
    run = converged_run("second-run", deployed.sources)
    assert run.returncode == 0, run.tail()
    assert run.changed == 0, run.tail()
    assert secret_values(core) == before


def test_a_check_run_changes_nothing(deployed):
    run = run_playbook("check-run", "--check", "--diff")
    assert run.returncode == 0, run.tail()
    assert run.changed == 0, run.tail()


def test_a_new_app_image_rolls_out_without_a_failed_request(core, apps, flask_url, nginx_address, ca_file):
    good = apps.read_namespaced_deployment("flask", NAMESPACE).spec.template.spec.containers[0].image
    old_pods = {p.metadata.name for p in ready_pods(core, NAMESPACE, "flask")}
    # The same image under another name: a new pod template, so a real rolling update of every replica.
    new = f"{SETTINGS['registry_address']}/tests/app-next:{uuid.uuid4().hex[:12]}"
    subprocess.run(["docker", "tag", good, new], check=True)
    subprocess.run(["docker", "push", "--quiet", new], check=True, capture_output=True)
    subprocess.run(["docker", "rmi", new], check=True, capture_output=True)

    probes = [Probe(f"{flask_url}/api/health"), Probe(f"https://{nginx_address}/api/health", verify=ca_file)]
    run = roll_out_under_probes("new-image", new, probes)

    assert run.returncode == 0, run.tail()
    ready = ready_pods(core, NAMESPACE, "flask")
    assert len(ready) == WORKLOADS["flask"]
    assert all(p.spec.containers[0].image == new for p in ready)
    assert not old_pods & {p.metadata.name for p in ready}
    for probe in probes:
        assert probe.total > 50, probe.summary()
        assert probe.failures == [], probe.summary()


def build_broken_image(good: str) -> str:
    """The app image with a command that exits at once: its pods can never become ready."""
    broken = f"{SETTINGS['registry_address']}/tests/app-broken:{good.rsplit(':', 1)[1]}"
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(
            f'FROM {good}\nCMD ["sh", "-c", "echo \'broken on purpose: exiting\' >&2; exit 3"]\n'
        )
        subprocess.run(["docker", "build", "--quiet", "--pull=false", "-t", broken, context], check=True)
    subprocess.run(["docker", "push", "--quiet", broken], check=True, capture_output=True)
    return broken


def roll_out_under_probes(name, image, probes, **settings):
    """Run the playbook with `image` as the app image (nothing built) while the probes request /api/health."""
    with contextlib.ExitStack() as stack:
        for probe in probes:
            stack.enter_context(probe)
        return run_playbook(name, extra_vars={"app_images": {"app": image}, "app_k8s_build_images": False, **settings})


def test_a_broken_image_fails_the_play_while_the_old_pods_keep_serving(core, apps, flask_url):
    good = apps.read_namespaced_deployment("flask", NAMESPACE).spec.template.spec.containers[0].image
    old_pods = {p.metadata.name for p in ready_pods(core, NAMESPACE, "flask")}
    broken = build_broken_image(good)

    probe = Probe(f"{flask_url}/api/health")
    run = roll_out_under_probes("broken-image", broken, [probe], app_rollout_timeout=60)

    assert run.returncode != 0, run.tail()
    assert f"Deployment {NAMESPACE}/flask did not roll out" in run.output, run.tail()
    assert "broken on purpose: exiting" in run.output, run.tail()  # the new pod's last log line
    assert "exit code 3" in run.output, run.tail()
    assert f"Rolled back to the previous pod template ({good}): all its pods are ready again." in run.output
    assert probe.total > 100, probe.summary()
    assert probe.failures == [], probe.summary()

    deployment = apps.read_namespaced_deployment("flask", NAMESPACE)
    assert deployment.spec.template.spec.containers[0].image == good
    assert {p.metadata.name for p in ready_pods(core, NAMESPACE, "flask")} == old_pods
    broken_sets = [
        rs
        for rs in apps.list_namespaced_replica_set(NAMESPACE, label_selector="app=flask").items
        if rs.spec.template.spec.containers[0].image == broken
    ]
    assert broken_sets, "the broken image never got a ReplicaSet"
    assert all(rs.spec.replicas == 0 for rs in broken_sets)
    assert all(pod_ready(p) for p in pods(core, NAMESPACE, "flask") if p.metadata.deletion_timestamp is None)


def test_an_image_that_does_not_exist_fails_the_play_and_is_rolled_back(core, apps, flask_url):
    good = apps.read_namespaced_deployment("flask", NAMESPACE).spec.template.spec.containers[0].image
    missing = f"{SETTINGS['registry_address']}/tests/app-missing:{uuid.uuid4().hex[:12]}"
    probe = Probe(f"{flask_url}/api/health")
    run = roll_out_under_probes("missing-image", missing, [probe], app_rollout_timeout=30)

    assert run.returncode != 0, run.tail()
    assert f"Deployment {NAMESPACE}/flask did not roll out" in run.output, run.tail()
    assert "ImagePullBackOff" in run.output or "ErrImagePull" in run.output, run.tail()
    assert f"Rolled back to the previous pod template ({good})" in run.output, run.tail()
    assert probe.failures == [], probe.summary()
    assert apps.read_namespaced_deployment("flask", NAMESPACE).spec.template.spec.containers[0].image == good


def test_a_normal_run_after_the_failed_one_restores_the_release(core, deployed, flask_url):
    sources = image_sources()
    run = run_playbook("restore")
    assert run.returncode == 0, run.tail()
    again = converged_run("restore-second-run", sources)
    assert again.returncode == 0, again.tail()
    assert again.changed == 0, again.tail()
    assert len(ready_pods(core, NAMESPACE, "flask")) == WORKLOADS["flask"]
    assert health(flask_url)
