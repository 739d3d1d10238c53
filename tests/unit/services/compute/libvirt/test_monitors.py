"""Monitor addresses: ceph.conf's mon_host as Ceph reads it, and mon dump's lists."""

from __future__ import annotations

import pytest

from shoal.cluster import EmbeddedSession
from shoal.services.compute.libvirt import (
    InvalidGuest,
    Monitor,
    cluster_monitors,
    monitors_from_addresses,
    parse_mon_host,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("", ()),
    ("10.0.0.1", (Monitor("10.0.0.1", 6789),)),
    ("10.0.0.1:6790, 10.0.0.2;10.0.0.3 10.0.0.4,10.0.0.5",
     tuple(Monitor(f"10.0.0.{i}", 6790 if i == 1 else 6789) for i in range(1, 6))),
    ("[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0],[v2:10.0.0.2:3300/0,v1:10.0.0.2:6789/0]",
     (Monitor("10.0.0.1", 6789), Monitor("10.0.0.2", 6789))),
    ("[v2:10.0.0.1:3300]", (Monitor("10.0.0.1", 3300),)),
    ("v2:10.0.0.1", (Monitor("10.0.0.1", 3300),)),
    ("[::1]:6789,[fd00::2]", (Monitor("::1", 6789), Monitor("fd00::2", 6789))),
    ("fd00::5", (Monitor("fd00::5", 6789),)),
    ("mon1.example.org:6789 mon2", (Monitor("mon1.example.org"), Monitor("mon2"))),
    ("10.0.0.1 10.0.0.1:6789", (Monitor("10.0.0.1", 6789),)),  # repeats dropped
])
def test_mon_host_entries(value: str, expected: tuple[Monitor, ...]) -> None:
    assert parse_mon_host(value) == expected


@pytest.mark.parametrize(("value", "words"), [
    ("10.0.0.1:port", "is not a number"),
    ("10.0.0.1:70000", "not in 1..65535"),
    ("[v2:10.0.0.1:3300", "unbalanced brackets"),
    ("[::1", "unbalanced brackets"),
    ("bad_host!", "not an IP address or DNS name"),
])
def test_bad_mon_host_entries(value: str, words: str) -> None:
    with pytest.raises(InvalidGuest) as caught:
        parse_mon_host(value)
    assert words in caught.value.message


def test_mon_dump_and_connection_info_lists() -> None:
    assert monitors_from_addresses(["127.0.0.1", "[::1]"], ["6789", 3300]) == (
        Monitor("127.0.0.1", 6789), Monitor("::1", 3300))
    with pytest.raises(InvalidGuest, match="2 monitor hosts but 1 ports"):
        monitors_from_addresses(["a", "b"], ["1"])
    with pytest.raises(InvalidGuest, match="is not a number"):
        monitors_from_addresses(["a"], ["x"])


def test_the_embedded_clusters_monitor_as_mon_dump_lists_it(admin: EmbeddedSession) -> None:
    assert cluster_monitors(admin) == (Monitor("127.0.0.1", 6789),)
