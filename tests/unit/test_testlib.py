"""The shared test library's parsers, on outputs recorded from real runs."""

from __future__ import annotations

from iac_testlib.ansible import parse_recap
from iac_testlib.net import Listener, parse_ss

RECAP = """
PLAY RECAP *********************************************************************
localhost                  : ok=97   changed=2    unreachable=0    failed=0    skipped=31   rescued=0    ignored=0
web1.example.internal      : ok=12   changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""

SS = """\
tcp   LISTEN 0      4096         0.0.0.0:443        0.0.0.0:*
tcp   LISTEN 0      4096       127.0.0.1:5001       0.0.0.0:*
tcp   LISTEN 0      128             [::]:22            [::]:*
udp   UNCONN 0      0       0.0.0.0%eth0:68         0.0.0.0:*
tcp   LISTEN 0      4096           [::1]:6443          [::]:*
"""


def test_recap_counts_per_host_and_in_total():
    hosts = parse_recap(RECAP)
    assert hosts["localhost"]["changed"] == 2
    assert hosts["localhost"]["skipped"] == 31
    assert hosts["web1.example.internal"]["unreachable"] == 1


def test_recaps_of_several_runs_in_one_output_add_up():
    assert parse_recap(RECAP + RECAP)["localhost"]["changed"] == 4


def test_ss_listeners_with_addresses_interfaces_and_loopback():
    found = parse_ss(SS)
    assert Listener("tcp", "0.0.0.0", 443) in found
    assert Listener("udp", "0.0.0.0", 68) in found
    assert Listener("tcp", "::", 22) in found
    assert {entry.port for entry in found if entry.loopback} == {5001, 6443}
