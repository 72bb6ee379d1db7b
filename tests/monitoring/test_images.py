"""The monitoring images, built from the project's Debian base: pinned Debian packages, a non-root user, a health
check that passes, data on a volume; and each exporter reading a real service (the project's own images) on a
network of the test that has no way out. Nothing here touches a deployed stack."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from monitoring_helpers import (
    IMAGE_USER,
    IMAGES,
    IMAGES_DIR,
    SERVICE_IMAGES,
    address,
    container,
    docker,
    http_get,
    image,
    network,
    wait_healthy,
)

FAST_HEALTH = ("--health-interval=1s", "--health-start-period=30s")
# A container without a network reads its own /metrics (bash's /dev/tcp, as the images' health checks do).
SELF_METRICS = "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"


def pins(name: str) -> dict[str, str]:
    """{package: version} that the image's Dockerfile pins ("pkg=${ARG}" with ARG ...=version)."""
    text = (IMAGES_DIR / name / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+_VERSION)=(\S+)$", text, re.MULTILINE))
    return {package: args[arg] for package, arg in re.findall(r'"([a-z0-9.+-]+)=\$\{(\w+)\}"', text)}


def metrics(name: str, port: int) -> str:
    return http_get(f"http://{address(name)}:{port}/metrics")


def value(text: str, series: str) -> float | None:
    match = re.search(rf"^{re.escape(series)}(?:\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.mark.parametrize("name", IMAGES)
def test_the_image_runs_its_pinned_package_as_a_fixed_non_root_user_with_a_health_check(name):
    ref = image(name)
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", ref).stdout)
    assert config["User"] == IMAGE_USER
    assert config["Healthcheck"]["Test"][0] == "CMD"
    wanted = pins(name)
    assert wanted, f"{name}: the Dockerfile pins no package"
    for package, version in wanted.items():
        installed = docker("run", "--rm", "--entrypoint", "dpkg-query", ref, "-W", "-f", "${Version}", package)
        assert installed.stdout == version, package


def test_prometheus_loads_the_rules_and_keeps_its_data_on_the_volume(rendered):
    volume = f"iac-test-monitoring-data-{int(time.time())}"
    try:
        run_args = (
            *FAST_HEALTH,
            "-v",
            f"{rendered}/prometheus:/etc/prometheus/config:ro",
            "-v",
            f"{volume}:/var/lib/prometheus/data",
        )
        with container(image("prometheus"), run_args=run_args) as name:
            wait_healthy(name)
            groups = json.loads(http_get(f"http://{address(name)}:9090/api/v1/rules"))["data"]["groups"]
            assert {"slo-availability", "slo-alerts", "state-alerts"} <= {g["name"] for g in groups}
            assert all(rule["health"] != "err" for g in groups for rule in g["rules"])
            listing = docker("exec", name, "ls", "-ln", "/var/lib/prometheus/data").stdout
        assert re.search(r"^d\S+\s+\d+\s+990\s+990 .* wal$", listing, re.MULTILINE), listing
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_alertmanager_starts_healthy(rendered):
    run_args = (*FAST_HEALTH, "-v", f"{rendered}/alertmanager:/etc/alertmanager:ro")
    with container(image("alertmanager"), run_args=run_args) as name:
        wait_healthy(name)
        status = json.loads(http_get(f"http://{address(name)}:9093/api/v2/status"))
    assert status["cluster"]["status"] == "disabled", "one instance: no gossip port"


def test_the_node_exporter_reads_the_hosts_filesystems():
    # rslave where / is a shared mount (systemd hosts), so that later mounts show up; this CI VM's is private.
    run_args = (*FAST_HEALTH, "-v", "/:/host:ro")
    with container(image("node-exporter"), run_args=run_args) as name:
        wait_healthy(name)
        text = metrics(name, 9100)
    assert value(text, "node_memory_MemTotal_bytes") > 0
    assert re.search(r'^node_filesystem_avail_bytes\{.*mountpoint="/".*\} \S+$', text, re.MULTILINE)


def test_the_blackbox_exporter_probes_and_reports_certificates(rendered):
    run_args = (*FAST_HEALTH, "-v", f"{rendered}/blackbox:/etc/blackbox:ro")
    with container(image("blackbox-exporter"), run_args=run_args) as name:
        wait_healthy(name)
        # A probe of something that does not answer: a failed probe, not a failed exporter.
        text = http_get(f"http://{address(name)}:9115/probe?module=http_2xx&target=http://127.0.0.1:9/")
    assert value(text, "probe_success") == 0


def test_the_redis_exporter_reads_redis_with_the_password_from_a_file(tmp_path):
    secret = tmp_path / "redis-password"
    secret.write_text("s3cret-for-the-test")
    secret.chmod(0o644)
    with network() as net:
        redis_args = (
            "--network",
            net,
            "--network-alias",
            "redis",
            "-e",
            "REDIS_PASSWORD_FILE=/run/secrets/password",
            "-v",
            f"{secret}:/run/secrets/password:ro",
        )
        with container(image("redis", SERVICE_IMAGES / "redis"), run_args=redis_args) as redis:
            wait_healthy(redis)
            exporter_args = (
                *FAST_HEALTH,
                "--network",
                net,
                "-e",
                "REDIS_PASSWORD_FILE=/run/secrets/password",
                "-v",
                f"{secret}:/run/secrets/password:ro",
            )
            with container(image("redis-exporter"), run_args=exporter_args) as name:
                wait_healthy(name)
                text = metrics(name, 9121)
                config = docker("inspect", "--format", "{{json .Config}}", name).stdout
    assert value(text, "redis_up") == 1
    assert "s3cret" not in config, "the password stays out of the container's configuration"


def test_the_redis_exporter_reports_redis_down():
    # Nothing listens there: the exporter stays up and says that Redis is down.
    run_args = (*FAST_HEALTH, "--network", "none", "-e", "REDIS_ADDR=redis://127.0.0.1:6379")
    with container(image("redis-exporter"), run_args=run_args) as name:
        wait_healthy(name)
        text = docker("exec", name, "bash", "-c", SELF_METRICS.format(port=9121)).stdout
    assert value(text, "redis_up") == 0


def test_the_postgres_exporter_reads_postgresql(tmp_path):
    secret = tmp_path / "pg-password"
    secret.write_text("s3cret-for-the-test")
    secret.chmod(0o644)
    with network() as net:
        pg_args = (
            "--network",
            net,
            "--network-alias",
            "postgres",
            "-e",
            "POSTGRES_PASSWORD_FILE=/run/secrets/pw",
            "-v",
            f"{secret}:/run/secrets/pw:ro",
            "--health-interval=1s",
        )
        with container(image("postgres", SERVICE_IMAGES / "postgres"), run_args=pg_args) as postgres:
            wait_healthy(postgres, timeout=120)
            exporter_args = (
                *FAST_HEALTH,
                "--network",
                net,
                "-e",
                "DATA_SOURCE_URI=postgres:5432/postgres?sslmode=disable",
                "-e",
                "DATA_SOURCE_USER=postgres",
                "-e",
                "DATA_SOURCE_PASS_FILE=/run/secrets/pw",
                "-v",
                f"{secret}:/run/secrets/pw:ro",
            )
            with container(image("postgres-exporter"), run_args=exporter_args) as name:
                wait_healthy(name)
                text = metrics(name, 9187)
    assert value(text, "pg_up") == 1


NGINX_CONF = """
worker_processes 1;
pid /tmp/nginx.pid;
events {}
http {
  access_log off;
  client_body_temp_path /tmp/body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  server { listen 8080; location /stub_status { stub_status; } }
}
"""


def test_the_nginx_exporter_reads_nginx_stub_status(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF)
    conf.chmod(0o644)
    with network() as net:
        nginx_args = ("--network", net, "--network-alias", "nginx", "-v", f"{conf}:/etc/nginx/nginx.conf:ro")
        with (
            container(image("nginx", SERVICE_IMAGES / "nginx"), run_args=nginx_args),
            container(image("nginx-exporter"), run_args=(*FAST_HEALTH, "--network", net)) as name,
        ):
            wait_healthy(name)
            text = metrics(name, 9113)
    assert value(text, "nginx_up") == 1
    assert value(text, "nginx_connections_active") >= 1


def test_the_container_exporter_reports_cpu_memory_health_and_restarts_of_this_hosts_containers(prometheus_image):
    gid = str(os.stat("/var/run/docker.sock").st_gid)  # the API needs the socket's group
    run_args = (
        *FAST_HEALTH,
        "--group-add",
        gid,
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        "-v",
        "/sys/fs/cgroup:/host/sys/fs/cgroup:ro",
    )
    with container(image("container-exporter"), run_args=run_args) as name:
        wait_healthy(name)
        text = metrics(name, 9338)
        lint = docker(
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--entrypoint",
            "promtool",
            prometheus_image,
            "check",
            "metrics",
            check=False,
            input_text=text,
        )
    own = f'name="{name}"'
    assert re.search(rf"^iac_container_running\{{{own},.*\}} 1\.0$", text, re.MULTILINE), "it sees itself running"
    assert re.search(rf"^iac_container_healthy\{{{own},.*\}} [01]\.0$", text, re.MULTILINE)
    working_set = re.search(rf"^container_memory_working_set_bytes\{{{own},.*\}} (\S+)$", text, re.MULTILINE)
    assert working_set, "its own memory is measured"
    assert float(working_set.group(1)) > 1_000_000, "a Python process uses more than 1 MB"
    assert re.search(rf"^container_cpu_usage_seconds_total\{{{own},.*\}} [0-9.e+-]+$", text, re.MULTILINE)
    assert value(text, "iac_container_exporter_errors") == 0
    assert value(text, "machine_cpu_cores") >= 1
    assert lint.returncode == 0, lint.stdout + lint.stderr
