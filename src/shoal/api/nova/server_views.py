"""Nova's server bodies per microversion (``nova.api.openstack.compute.views.servers``).

- 2.1: the base fields, ``OS-EXT-*`` extended attributes (``OS-EXT-SRV-ATTR:*`` for
  admins), ``os-extended-volumes:volumes_attached``, ``fault`` in ERROR/DELETED.
- 2.3: admins see ``reservation_id``, ``launch_index``, ``hostname``, ``kernel_id``,
  ``ramdisk_id``, ``root_device_name``, ``user_data``; volumes get
  ``delete_on_termination``.
- 2.9 ``locked``; 2.16 ``host_status`` (admins); 2.19 ``description``; 2.26 ``tags``;
  2.47 the flavor embedded (``vcpus``, ``ram``, ``disk``, ``ephemeral``, ``swap``,
  ``original_name``, ``extra_specs``: the project's readers may see them, Nova's default
  policy) instead of its id and links; 2.63
  ``trusted_image_certificates``; 2.71 ``server_groups`` (show, update, rebuild); 2.73
  ``locked_reason``; 2.90 ``OS-EXT-SRV-ATTR:hostname`` for everyone; 2.96
  ``pinned_availability_zone`` (the zone the create asked for, else null: the service
  keeps no asked zone yet, so null).
- An update answers a short body before 2.75 (:func:`server_update_view`: no extended
  attributes, zone, key, usage, states or volumes) and the full one from 2.75.
- ``progress`` (statuses that have one) is 0: shoal's builds do not report one, as Nova's
  libvirt driver does not. A fault's ``details`` are shown when there are some, to admins
  always and to others unless the code is 500.

Times: ``created``, ``updated`` and a fault's ``created`` are ISO 8601 with ``Z``
(:func:`isotime`, ``2026-12-08T01:02:03Z``); ``OS-SRV-USG:*`` and the other times Nova
hands to its JSON encoder as naive datetimes are microseconds without a zone
(:func:`primitive_time`, ``2026-12-08T01:02:03.000000``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime
from typing import Any, Final

from shoal.api._microversion import APIVersion
from shoal.api.nova._views import NovaViews
from shoal.services.compute import ServerRecord

__all__ = ["host_id", "isotime", "primitive_time", "server_brief", "server_update_view",
           "server_view"]

V = APIVersion
_PROGRESS_STATUSES: Final = frozenset({"ACTIVE", "BUILD", "REBUILD", "RESIZE",
                                       "VERIFY_RESIZE", "MIGRATING"})
_FAULT_STATUSES: Final = frozenset({"ERROR", "DELETED"})


def isotime(value: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def primitive_time(value: datetime | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC without a zone (a naive datetime as Nova's
    JSON encoder writes it) or None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: the hex sha224 of the project id then the host name (the same
    host looks different to each project); empty without a host."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def _address(value: str | None) -> str:
    """An access address as Nova prints it (an IP address object: IPv6 compressed,
    ``::babe:dc0c:1602``); empty when none, as given when it is no address."""
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def server_brief(server: ServerRecord, views: NovaViews) -> dict[str, Any]:
    """The list entry: ``id``, ``name``, ``links``."""
    return {"id": server.id, "name": server.name, "links": views.links("servers", server.id)}


def _flavor(server: ServerRecord, views: NovaViews) -> dict[str, Any]:
    f = server.flavor
    if views.version < V(2, 47):
        return {"id": f["flavorid"], "links": [
            {"rel": "bookmark", "href": views.links("flavors", f["flavorid"])[1]["href"]}]}
    # the extra specs are for the project's readers too (Nova's default policy)
    return {"vcpus": f["vcpus"], "ram": f["memory_mb"], "disk": f["root_gb"],
            "ephemeral": f["ephemeral_gb"], "swap": f["swap"], "original_name": f["name"],
            "extra_specs": dict(f.get("extra_specs") or {})}


def _image(server: ServerRecord, views: NovaViews) -> Any:
    if not server.image_id:
        return ""
    return {"id": server.image_id, "links": [
        {"rel": "bookmark", "href": views.links("images", server.image_id)[1]["href"]}]}


def _volumes(server: ServerRecord, views: NovaViews) -> list[dict[str, Any]]:
    out = []
    for v in server.volumes:
        item: dict[str, Any] = {"id": v.volume_id}
        if views.version >= V(2, 3):
            item["delete_on_termination"] = v.delete_on_termination
        out.append(item)
    return out


def _common(server: ServerRecord, views: NovaViews) -> dict[str, Any]:
    """What every detailed body has (an update's before 2.75 has only this)."""
    version = views.version
    out: dict[str, Any] = {
        "id": server.id, "name": server.name, "status": server.status,
        "tenant_id": server.project_id, "user_id": server.user_id,
        "metadata": dict(server.metadata), "hostId": host_id(server.project_id, server.host),
        "image": _image(server, views), "flavor": _flavor(server, views),
        "created": isotime(server.created_at),
        "updated": isotime(server.updated_at or server.created_at),
        "addresses": {}, "accessIPv4": _address(server.access_ip_v4),
        "accessIPv6": _address(server.access_ip_v6), "links": views.links("servers", server.id),
        "OS-DCF:diskConfig": "MANUAL",
    }
    if server.status in _PROGRESS_STATUSES:
        out["progress"] = 0
    if server.fault is not None and server.status in _FAULT_STATUSES:
        fault: dict[str, Any] = {"code": server.fault.code, "message": server.fault.message,
                                 "created": isotime(server.fault.created_at)}
        if server.fault.details and (views.is_admin or server.fault.code != 500):
            fault["details"] = server.fault.details
        out["fault"] = fault
    if version >= V(2, 9):
        out["locked"] = server.locked
    if version >= V(2, 19):
        out["description"] = server.description
    if version >= V(2, 26):
        out["tags"] = []
    if version >= V(2, 63):
        out["trusted_image_certificates"] = None
    if version >= V(2, 73):
        out["locked_reason"] = server.locked_reason
    return out


def _extended(server: ServerRecord, views: NovaViews) -> dict[str, Any]:
    """The extended attributes of a show or detail: zone, key, usage, states, volumes,
    the ``OS-EXT-SRV-ATTR`` ones for admins, ``host_status`` for admins from 2.16."""
    version, admin = views.version, views.is_admin
    out: dict[str, Any] = {
        "OS-EXT-AZ:availability_zone": server.availability_zone or "",
        "config_drive": server.config_drive, "key_name": server.key_name,
        "OS-SRV-USG:launched_at": primitive_time(server.launched_at),
        "OS-SRV-USG:terminated_at": primitive_time(server.terminated_at),
        "security_groups": [{"name": "default"}],
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-EXT-STS:power_state": server.power_state,
        "os-extended-volumes:volumes_attached": _volumes(server, views),
    }
    if admin:
        out.update({"OS-EXT-SRV-ATTR:host": server.host,
                    "OS-EXT-SRV-ATTR:instance_name": server.instance_name,
                    "OS-EXT-SRV-ATTR:hypervisor_hostname": server.node})
        if version >= V(2, 3):
            out.update({"OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
                        "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
                        "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                        "OS-EXT-SRV-ATTR:hostname": server.hostname,
                        "OS-EXT-SRV-ATTR:root_device_name": server.root_device_name,
                        "OS-EXT-SRV-ATTR:user_data": server.user_data})
        if version >= V(2, 16):
            out["host_status"] = "UP" if server.host else ""
    elif version >= V(2, 90):
        out["OS-EXT-SRV-ATTR:hostname"] = server.hostname
    if version >= V(2, 96):
        out["pinned_availability_zone"] = server.pinned_availability_zone
    return out


def server_view(server: ServerRecord, views: NovaViews, *, show: bool = False
                ) -> dict[str, Any]:
    """The detailed body of one server (``show``: a show, update or rebuild reply, which
    carries ``server_groups`` from 2.71; a list's detail does not)."""
    out = {**_common(server, views), **_extended(server, views)}
    if views.version >= V(2, 71) and show:
        out["server_groups"] = []
    return out


def server_update_view(server: ServerRecord, views: NovaViews) -> dict[str, Any]:
    """The body of an update reply: before 2.75 the common fields only (no zone, key,
    usage, states, volumes or extended attributes, as Nova; ``server_groups`` from 2.71),
    from 2.75 the show body."""
    if views.version >= V(2, 75):
        return server_view(server, views, show=True)
    out = _common(server, views)
    if views.version >= V(2, 71):
        out["server_groups"] = []
    return out
