"""The Ceph monitors a guest's RBD disks name, one ``<host name= port=>`` each.

Upstream Nova asks the cluster (``ceph mon dump``: each monitor's legacy ``addr``) and
Cinder's ``connection_info`` carries ``hosts``/``ports`` lists of the same form; a
real cluster's ``ceph.conf`` lists them in ``mon_host``. All three become
:class:`Monitor` values here:

- :func:`cluster_monitors` asks a session's cluster (``mon dump``, through the volume
  driver's ``mon_addresses``; either backend: the embedded cluster answers
  ``127.0.0.1:6789``), as Nova does; :func:`monitors_from_addresses` takes such
  ``(hosts, ports)`` lists as they are;
- :func:`parse_mon_host` reads ``mon_host`` as Ceph does: entries separated by
  spaces, ``;`` or ``,``; each an address (``10.0.0.1``, ``10.0.0.1:6789``,
  ``v2:10.0.0.1:3300``, ``[::1]:6789``, a DNS name) or a bracketed address vector
  (``[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]``), of which the v1 address is taken as
  ``mon dump``'s ``addr`` is. An address without a port gets the v1 port 6789 (3300
  after ``v2:``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shoal.cluster import Session
from shoal.services.compute.libvirt._errors import InvalidGuest
from shoal.services.volume.driver._cluster import mon_addresses

__all__ = ["MON_PORT_V1", "MON_PORT_V2", "Monitor", "cluster_monitors",
           "monitors_from_addresses", "parse_mon_host"]

#: Ceph's legacy (msgr v1) and IANA (msgr v2) monitor ports.
MON_PORT_V1 = 6789
MON_PORT_V2 = 3300

_PORT_MAX = 65535
_DNS_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})"
                       r"(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")
_SEPARATORS = re.compile(r"[\s;]+")


@dataclass(frozen=True)
class Monitor:
    """One monitor: ``host`` is an IPv4/IPv6 address (no brackets) or a DNS name;
    ``port`` 1..65535.

    Raises:
        InvalidGuest: a host that is neither an address nor a DNS name, or a port out
            of range.
    """

    host: str
    port: int = MON_PORT_V1

    def __post_init__(self) -> None:
        if not _valid_host(self.host):
            raise InvalidGuest(f"monitor host {self.host!r} is not an IP address or DNS name")
        if not 1 <= self.port <= _PORT_MAX:
            raise InvalidGuest(f"monitor port {self.port} of {self.host} is not in "
                               f"1..{_PORT_MAX}")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _DNS_NAME.fullmatch(host) is not None
    return True


def _port(text: str, what: str) -> int:
    if not text.isdigit():
        raise InvalidGuest(f"{what}: port {text!r} is not a number")
    return int(text)


def monitors_from_addresses(hosts: Sequence[str],
                            ports: Sequence[str | int]) -> tuple[Monitor, ...]:
    """Monitors from parallel ``hosts`` and ``ports`` lists (ports as ``mon dump`` and
    Cinder give them: decimal strings; ints are accepted). IPv6 hosts may come with or
    without brackets.

    Raises:
        InvalidGuest: the lists differ in length, or a host or port is not valid.
    """
    if len(hosts) != len(ports):
        raise InvalidGuest(f"{len(hosts)} monitor hosts but {len(ports)} ports")
    return tuple(Monitor(str(host).strip("[]"),
                         port if isinstance(port, int) else _port(str(port), f"monitor {host}"))
                 for host, port in zip(hosts, ports, strict=True))


def cluster_monitors(session: Session) -> tuple[Monitor, ...]:
    """The monitors ``mon dump`` lists (each one's legacy v1 ``addr``), as Nova's
    ``get_mon_addrs`` reads them; the session's user needs ``mon 'allow r'``.

    Raises:
        errors.ShoalError: the command failed (e.g. EACCES) or its reply does not parse.
        InvalidGuest: an address that is not valid.
    """
    return monitors_from_addresses(*mon_addresses(session))


def _split_entries(value: str) -> list[str]:
    """``mon_host``'s entries: split at spaces and ``;``, and at ``,`` outside brackets."""
    entries: list[str] = []
    for chunk in _SEPARATORS.split(value.strip()):
        depth, start = 0, 0
        for i, char in enumerate(chunk):
            depth += {"[": 1, "]": -1}.get(char, 0)
            if char == "," and depth == 0:
                entries.append(chunk[start:i])
                start = i + 1
        entries.append(chunk[start:])
    return [e for e in entries if e]


def _parse_address(text: str) -> tuple[str, str, int]:
    """``(type, host, port)`` of one address: ``[v1:|v2:|any:]HOST[:PORT][/NONCE]``."""
    kind = "any"
    for prefix in ("v1:", "v2:", "any:"):
        if text.startswith(prefix):
            kind, text = prefix[:-1], text[len(prefix):]
            break
    text = text.split("/", 1)[0]
    default = MON_PORT_V2 if kind == "v2" else MON_PORT_V1
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise InvalidGuest(f"mon_host address {text!r}: unbalanced brackets")
        port = _port(rest[1:], f"mon_host address {text!r}") if rest else default
        return kind, host, port
    if text.count(":") > 1:  # a bare IPv6 address: no port
        return kind, text, default
    host, sep, port_text = text.partition(":")
    return kind, host, _port(port_text, f"mon_host address {text!r}") if sep else default


def _parse_entry(entry: str) -> Monitor:
    if entry.startswith("[") and ("v1:" in entry or "v2:" in entry or "any:" in entry):
        if not entry.endswith("]"):
            raise InvalidGuest(f"mon_host entry {entry!r}: unbalanced brackets")
        addresses = [_parse_address(a) for a in entry[1:-1].split(",") if a]
        if not addresses:
            raise InvalidGuest(f"mon_host entry {entry!r} holds no address")
        chosen = next((a for a in addresses if a[0] == "v1"), addresses[0])
    else:
        chosen = _parse_address(entry)
    return Monitor(chosen[1], chosen[2])


def parse_mon_host(value: str) -> tuple[Monitor, ...]:
    """The monitors of a ``ceph.conf`` ``mon_host`` value, in order, without repeats;
    ``""`` gives ``()``.

    Raises:
        InvalidGuest: an entry that is not an address, vector or DNS name.
    """
    seen: dict[Monitor, None] = {}
    for entry in _split_entries(value):
        seen.setdefault(_parse_entry(entry), None)
    return tuple(seen)
