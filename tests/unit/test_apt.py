"""The project's one way of measuring pending apt updates (module_utils/apt.py, run by the module
iac.core.apt_pending for verify, os_updates and container_images), on apt's real outputs (verify's fixtures)."""

from __future__ import annotations

import pytest
from ansible_collections.iac.core.plugins.module_utils import apt
from ansible_collections.iac.core.plugins.module_utils.verify import parse
from iac_testlib.project import ROOT

FIXTURES = ROOT / "tests" / "unit" / "verify" / "fixtures"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_the_host_is_asked_in_place_and_an_image_in_a_container_without_network_on_the_hosts_index():
    assert apt.command() == ["sh", "-c", apt.SCRIPT]
    argv = apt.command("iac/debian:bookworm")
    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--volume") + 1] == "/var/lib/apt/lists:/var/lib/apt/lists:ro"
    assert argv[-3:] == ["iac/debian:bookworm", "-c", apt.SCRIPT]
    # Read-only: the simulation takes no lock, so a run of apt elsewhere cannot make it fail.
    assert "--simulate -o Debug::NoLocking=1 upgrade" in apt.SCRIPT


def test_the_output_of_the_command_is_read_with_its_security_updates_separately():
    output = f"{recorded('apt-host-policy.txt')}\n{apt.SEPARATOR}\n{recorded('apt-host-upgrade.txt')}"
    found = apt.pending(output)
    assert (len(found["pending"]), len(found["security"])) == (143, 92)
    assert apt.describe(found["security"])[0] == "libgcrypt20-dev 1.10.1-3 -> 1.10.1-3+deb12u1"
    assert apt.pending(recorded("apt-image.txt"))["pending"] == []


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        # An image whose sources have no index on the host (another suite): nothing pending would prove nothing.
        (recorded("apt-image-noindex.txt"), "no package index"),
        # The simulation never ran (apt-cache policy alone).
        (recorded("apt-host-policy.txt"), "printed no summary"),
    ],
)
def test_an_output_that_cannot_be_compared_is_an_error_not_zero_updates(output, reason):
    with pytest.raises(parse.ParseError, match=reason):
        apt.pending(output)
