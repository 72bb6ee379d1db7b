"""Pending apt updates, measured one way for the whole project: what apt is asked (which package indexes it has,
then an upgrade simulation), where (on the host, or in a throwaway container of an image) and how its answer is
read. The module iac.core.apt_pending runs it for verify's patches checks, os_updates and container_images; verify's
checks read the output it registered with `pending`.

An image is read in a container without network, as root, on the host's package index mounted read-only: the
project's images take their apt sources from the host (container_images bootstraps them from the host's mirror), so
an image is judged against the same index as its host, refreshed once on the host.
"""

from __future__ import annotations

from ansible_collections.iac.core.plugins.module_utils.verify import parse

SEPARATOR = "==="
# Debug::NoLocking: the simulation is read-only and takes no lock (a run of apt elsewhere does not make it fail).
SCRIPT = f"apt-cache policy; echo {SEPARATOR}; apt-get --simulate -o Debug::NoLocking=1 upgrade"
LISTS = "/var/lib/apt/lists"


def command(image: str = "") -> list[str]:
    """The argv that prints the indexes and the simulation: on the host, or in a throwaway container of `image`."""
    if not image:
        return ["sh", "-c", SCRIPT]
    return [
        *("docker", "run", "--rm", "--network", "none", "--user", "0"),
        *("--volume", f"{LISTS}:{LISTS}:ro", "--entrypoint", "sh", image, "-c", SCRIPT),
    ]


def pending(output: str) -> dict:
    """The output of `command`, read: {"indexes", "pending", "security"} (parse.apt_pending); ParseError when apt
    had no index to compare with or printed no simulation."""
    policy, _, simulation = output.partition(f"\n{SEPARATOR}\n")
    return parse.apt_pending(policy, simulation)


def describe(updates: list[dict]) -> list[str]:
    """One line per pending update: `package installed -> candidate`."""
    return [f"{update['package']} {update['installed']} -> {update['candidate']}" for update in updates]
