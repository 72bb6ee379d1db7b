"""The stack's containers and this host's engine refuse what CIS Docker 5.x and 2.x are about (issue 16).

Every test tries the attack against the stack deployed on this machine (`make deploy`) and sees it refused: a root
process in a container using a capability, a setuid binary making the container's user root, a fork bomb, a busy
loop taking more CPU than the contract gives, a write to a root filesystem, a forged Host header making a redirect
point elsewhere, a client other than Nginx forging forwarded headers, and containers on Docker's default bridge
reaching each other.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid

import pytest
import requests
import yaml
from iac_testlib.project import ROOT
from iac_testlib.wait import wait_for
from stackctl import BASE, CA, SETTINGS, get, public_hostname, services

SERVICES = ["flask", "nginx", "postgres", "redis"]
PIDS_LIMITS = yaml.safe_load((ROOT / "roles/app_compose/defaults/main.yml").read_text())["app_compose_pids_limits"]
# The capabilities each service may hold, as a mask of /proc/<pid>/status. Found by running each image with
# --cap-drop ALL: every one runs as its own non-root user and needs none (Nginx binds 80 and 443 because Docker
# opens ports below 1024 to every user of a container's network namespace).
ALLOWED_CAPABILITIES = dict.fromkeys(SERVICES, 0)

# `su` is setuid root in every image (Debian's util-linux). Run by the container's user, it waits at its password
# prompt (its stdin is a FIFO no one writes to), and by then the kernel has set its effective uid: 0 when the setuid
# bit is honoured, the caller's under no-new-privileges. No password and no PAM decision is involved. su is killed
# only once it prompts (PAM's helpers have finished by then) and reaped here, so nothing is left to the container's
# PID 1 (PostgreSQL's postmaster would take an unknown child's exit for a crashed backend).
SU_PROBE = r"""
fifo=$(mktemp -u /tmp/su-probe.XXXXXX) && mkfifo "$fifo"
su -c true root <>"$fifo" 2>"$fifo.prompt" &
pid=$!
for _ in $(seq 100); do grep -q assword "$fifo.prompt" && break; sleep 0.1; done
echo "comm $(cat /proc/$pid/comm)"
grep '^Uid:' /proc/$pid/status
kill -KILL $pid; wait $pid; rm -f "$fifo" "$fifo.prompt"
"""

# Forks children that sleep until the limit refuses one (or `wanted` run), kills them, and says how far it got.
FORKS = r"""
import errno, json, os, sys, time
wanted, children, refused = int(sys.argv[1]), [], None
try:
    for _ in range(wanted):
        try:
            pid = os.fork()
        except OSError as exc:
            refused = errno.errorcode.get(exc.errno, str(exc.errno))
            break
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        children.append(pid)
finally:
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
print(json.dumps({"started": len(children), "refused": refused}))
"""

# Four busy loops for two seconds; prints the CFS quota and period and the CPU time (ns) the container's cgroup used
# meanwhile, with the wall time (ns). cgroup v2 or v1.
CPU_BURN = r"""
if [ -f /sys/fs/cgroup/cpu.max ]; then
  read -r quota period < /sys/fs/cgroup/cpu.max
  used() { awk '$1 == "usage_usec" {printf "%d\n", $2 * 1000}' /sys/fs/cgroup/cpu.stat; }
else
  quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  used() { cat /sys/fs/cgroup/cpuacct/cpuacct.usage; }
fi
before=$(used) start=$(date +%s%N)
for _ in 1 2 3 4; do timeout 2 bash -c 'while :; do :; done' & done
wait
echo "$quota $period $before $(used) $start $(date +%s%N)"
"""


def docker(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, check=check, timeout=120)


def containers() -> dict[str, str]:
    """{service of the contract: container name} of the running stack; flask is the live app colour."""
    return {row["Service"].split("-")[0]: row["Name"] for row in services()}


def host_config(name: str) -> dict:
    return json.loads(docker("inspect", "--format", "{{json .HostConfig}}", name).stdout)


def image_of(service: str) -> str:
    return docker("inspect", "--format", "{{.Config.Image}}", containers()[service]).stdout.strip()


def su_uids(argv: list[str]) -> tuple[int, int]:
    """The real and effective uid of `su` at its password prompt, run by SU_PROBE through argv (bash -c)."""
    done = subprocess.run([*argv, SU_PROBE], capture_output=True, text=True, check=False, timeout=60)
    assert "comm su" in done.stdout, done.stdout + done.stderr
    real, effective = re.search(r"^Uid:\s+(\d+)\s+(\d+)", done.stdout, re.MULTILINE).groups()
    return int(real), int(effective)


@pytest.mark.parametrize("service", SERVICES)
def test_the_container_holds_no_capability_beyond_its_allowed_set(service):
    name = containers()[service]
    config = host_config(name)
    assert config["CapDrop"] == ["ALL"], config["CapDrop"]
    assert not config["CapAdd"], config["CapAdd"]
    status = docker("exec", name, "grep", "-E", "^Cap(Prm|Eff|Bnd|Amb):", "/proc/1/status").stdout
    masks = {key: int(value, 16) for key, value in re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", status, re.MULTILINE)}
    assert sorted(masks) == ["CapAmb", "CapBnd", "CapEff", "CapPrm"], status
    assert all(mask & ~ALLOWED_CAPABILITIES[service] == 0 for mask in masks.values()), masks


@pytest.mark.parametrize("service", SERVICES)
def test_root_in_the_container_cannot_chown_a_file_of_the_service_user(service):
    name = containers()[service]
    probe = f"/tmp/iac-cap-probe-{uuid.uuid4().hex[:8]}"
    docker("exec", name, "touch", probe)
    try:
        attempt = docker("exec", "-u", "0", name, "chown", "0:0", probe, check=False)
        assert attempt.returncode != 0, "root could chown without CAP_CHOWN"
        assert "Operation not permitted" in attempt.stderr, attempt.stderr
        assert docker("exec", name, "stat", "-c", "%u", probe).stdout.strip() != "0"
    finally:
        docker("exec", name, "rm", "-f", probe, check=False)


def test_root_in_the_app_container_cannot_open_a_raw_socket():
    attempt = docker(
        "exec",
        "-u",
        "0",
        containers()["flask"],
        "python3",
        "-c",
        "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)",
        check=False,
    )
    assert attempt.returncode != 0, "root opened a raw socket without CAP_NET_RAW"
    assert "Operation not permitted" in attempt.stderr, attempt.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_the_root_filesystem_is_read_only_even_for_root(service):
    attempt = docker("exec", "-u", "0", containers()[service], "touch", "/usr/local/bin/planted", check=False)
    assert attempt.returncode != 0, "root wrote to the container's root filesystem"
    assert "Read-only file system" in attempt.stderr, attempt.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_a_setuid_root_binary_does_not_make_the_container_user_root(service):
    real, effective = su_uids(["docker", "exec", containers()[service], "bash", "-c"])
    assert real != 0
    assert effective == real, f"su ran with effective uid {effective}"


def test_every_container_has_its_process_limit():
    for service, name in containers().items():
        assert host_config(name)["PidsLimit"] == PIDS_LIMITS[service], service


def test_a_fork_bomb_in_the_app_container_stops_at_its_process_limit():
    limit = PIDS_LIMITS["flask"]
    done = docker("exec", "-i", containers()["flask"], "python3", "-", str(limit + 10), stdin=FORKS)
    result = json.loads(done.stdout)
    assert result["refused"] == "EAGAIN", result
    assert result["started"] < limit, result
    wait_for(lambda: get("/api/health").status_code == 200, what="/api/health after the fork bomb", timeout=60)


def contract_cpus(service: str) -> float:
    cpu = str(SETTINGS["app_resources"][service]["limits"]["cpu"])
    return int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)


def test_every_container_but_the_apps_has_the_contracts_cpu_limit():
    for service, name in containers().items():
        # The app's limit in the contract is one Kubernetes pod's; on a Docker host the one app container has none.
        wanted = 0 if service == "flask" else round(contract_cpus(service) * 1e9)
        assert host_config(name)["NanoCpus"] == wanted, service


def test_busy_loops_in_nginx_get_no_more_cpu_than_its_limit():
    """Four busy loops want four cores; the CFS quota holds the container to the contract's limit (nginx: 500m)."""
    done = docker("exec", containers()["nginx"], "bash", "-c", CPU_BURN)
    quota, period, before, after, start, end = (int(field) for field in done.stdout.split())
    limit = contract_cpus("nginx")
    assert quota / period == pytest.approx(limit), done.stdout
    used = (after - before) / (end - start)
    assert used <= limit * 1.15, f"the container used {used:.2f} CPUs for 2 s with a limit of {limit}"
    wait_for(lambda: get("/api/health").status_code == 200, what="/api/health after the busy loops", timeout=60)


def test_a_forged_host_header_cannot_make_a_redirect_point_elsewhere():
    public = public_hostname()
    plain = requests.get(
        "http://127.0.0.1/login?next=%2F", headers={"Host": "evil.example"}, allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{public}/login?next=%2F"
    # The app's own redirects (here a missing trailing slash) name the public hostname too: Nginx passes it as Host.
    app = requests.get(f"{BASE}/api", headers={"Host": "evil.example"}, verify=CA, allow_redirects=False, timeout=10)
    assert app.status_code == 308
    assert app.headers["Location"] == f"https://{public}/api/"


def test_forwarded_headers_are_believed_from_nginx_only():
    """gunicorn takes a request's scheme from X-Forwarded-Proto only when the peer is in FORWARDED_ALLOW_IPS
    (Nginx's fixed address); it never takes the client's address from X-Forwarded-For (REMOTE_ADDR stays the peer),
    so the scheme is what a forger could change. The app's 308 for /api names the scheme it believed."""
    public = public_hostname()
    forged = (
        f"GET /api HTTP/1.1\r\nHost: {public}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.7\r\n"
        "Connection: close\r\n\r\n"
    )
    flask = SETTINGS["app_service_aliases"]["flask"][0]
    # Straight to the app from another container of the stack's network (Redis's), which is not Nginx.
    direct = docker(
        "exec",
        "-i",
        containers()["redis"],
        "bash",
        "-c",
        f"exec 3<>/dev/tcp/{flask}/5000 && cat >&3 && cat <&3",
        stdin=forged,
    ).stdout
    location = re.search(r"^Location: (\S+)", direct, re.MULTILINE | re.IGNORECASE)
    assert location, direct
    assert location.group(1) == f"http://{public}/api/", "the app believed a client other than Nginx"
    # Through Nginx (which sets X-Forwarded-Proto: https) the app believes it: the trusted address is Nginx's.
    assert get("/api", allow_redirects=False).headers["Location"] == f"https://{public}/api/"


def test_the_engine_starts_every_container_with_no_new_privileges():
    """daemon.json (role docker) makes it the default of containers that ask for nothing; the control asks for
    no-new-privileges=false and sees the same probe become root, so the refusal comes from the engine's default."""
    run = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "bash"]
    image = image_of("redis")
    real, by_default = su_uids([*run, image, "-c"])
    _, allowed = su_uids([*run, "--security-opt", "no-new-privileges=false", image, "-c"])
    assert allowed == 0, "the control did not escalate: the probe proves nothing"
    assert real != 0
    assert by_default == real, f"su ran with effective uid {by_default} in a container that asked for nothing"
