"""The host's listening sockets, from `ss` (which sees sockets of every network namespace's processes that share
the host's network, unlike tools that need to see the owning process)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")
_LOCAL = re.compile(r"^\[?(.*?)\]?(?:%\S+)?:(\d+)$")


@dataclass(frozen=True, order=True)
class Listener:
    protocol: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        return bool(LOOPBACK.match(self.address))


def parse_ss(output: str) -> set[Listener]:
    """Listeners in the output of `ss --no-header --listening --numeric --tcp --udp`."""
    found = set()
    for line in output.splitlines():
        cells = line.split()
        if len(cells) < 5 or cells[0] not in ("tcp", "udp"):
            continue
        match = _LOCAL.match(cells[4])
        if match:
            found.add(Listener(cells[0], match.group(1), int(match.group(2))))
    return found


def listeners(loopback: bool = False) -> set[Listener]:
    """The host's listening TCP and UDP sockets; loopback ones only when asked for."""
    output = subprocess.run(["ss", "-Hlntu"], check=True, capture_output=True, text=True).stdout
    return {entry for entry in parse_ss(output) if loopback or not entry.loopback}
