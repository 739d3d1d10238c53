"""What Nova says about its hosts and limits: ``os-hypervisors`` (admins), ``os-services``
(admins), ``os-availability-zone`` (``/detail`` for admins) and ``limits``.

One ``shoal up`` is one compute host: its hypervisor is ``QEMU`` on the machine's name, its
vCPUs and memory the machine's (``os.cpu_count``, ``/proc/meminfo``), its disk the pool's
capacity as the caller gives it. ``nova-compute`` lives in the servers' zone,
``nova-conductor`` and ``nova-scheduler`` in ``internal``, all ``up`` while ``shoal up``
runs. Ids are integers before 2.53 and UUIDs (stable per host name) from it; the
resource fields of a hypervisor go from 2.88, as in Nova.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shoal import errors
from shoal.api._context import RequestContext, request_context
from shoal.api._microversion import APIVersion, api_version
from shoal.api.nova.server_views import isotime
from shoal.services.compute import QUOTA_DEFAULTS, Servers

__all__ = ["HostFacts", "host_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion
_NAMESPACE: Final = uuid.UUID("6f1d3c50-6d8e-4b8e-9a55-2f0c3d8a7e11")


@dataclass(frozen=True)
class HostFacts:
    """The compute host: its name, zone, when it started, and a callable giving its
    disk (``(total GiB, free GiB)``, the guest disks' pool)."""

    host: str
    zone: str
    started_at: datetime
    disk_gib: Callable[[], tuple[int, int]]


def _memory_mb() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _forbidden(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.PermissionDenied(f"Policy doesn't allow {action} to be performed.")


def _id(version: APIVersion, name: str, number: int) -> Any:
    return str(uuid.uuid5(_NAMESPACE, name)) if version >= V(2, 53) else number


class _HostHandlers:
    def __init__(self, servers: Servers, facts: HostFacts) -> None:
        self.servers = servers
        self.facts = facts

    def _services(self, version: APIVersion) -> list[dict[str, Any]]:
        now = isotime(datetime.now().astimezone())
        host = self.facts.host
        out = []
        for number, (binary, zone) in enumerate((("nova-scheduler", "internal"),
                                                 ("nova-conductor", "internal"),
                                                 ("nova-compute", self.facts.zone)), 1):
            item: dict[str, Any] = {"id": _id(version, f"{binary}@{host}", number),
                                    "binary": binary, "host": host, "zone": zone,
                                    "status": "enabled", "state": "up", "updated_at": now,
                                    "disabled_reason": None}
            if version >= V(2, 11):
                item["forced_down"] = False
            out.append(item)
        return out

    async def services(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-services:list")
        params = request.query_params
        found = [s for s in self._services(api_version(request))
                 if params.get("binary") in (None, s["binary"])
                 and params.get("host") in (None, s["host"])]
        return JSONResponse({"services": found})

    def _hypervisor(self, version: APIVersion, *, detail: bool) -> dict[str, Any]:
        host = self.facts.host
        item: dict[str, Any] = {"id": _id(version, f"hypervisor@{host}", 1),
                                "hypervisor_hostname": host, "state": "up",
                                "status": "enabled"}
        if not detail:
            return item
        service = {"host": host, "id": _id(version, f"nova-compute@{host}", 3),
                   "disabled_reason": None}
        item.update({"hypervisor_type": "QEMU", "hypervisor_version": 8002000,
                     "host_ip": "127.0.0.1", "service": service})
        if version >= V(2, 88):
            item["uptime"] = None
            return item
        used = self.servers.usage()
        total_gib, free_gib = self.facts.disk_gib()
        memory = _memory_mb()
        item.update({
            "vcpus": os.cpu_count() or 1, "memory_mb": memory, "local_gb": total_gib,
            "vcpus_used": used["vcpus"], "memory_mb_used": used["memory_mb"],
            "local_gb_used": used["local_gb"], "free_ram_mb": memory - used["memory_mb"],
            "free_disk_gb": total_gib - used["local_gb"], "current_workload": 0,
            "running_vms": used["servers"], "disk_available_least": free_gib,
            "cpu_info": "{}"})
        return item

    async def hypervisors(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:list")
        version = api_version(request)
        detail = request.url.path.endswith("/detail")
        one = await run_in_threadpool(lambda: self._hypervisor(version, detail=detail))
        return JSONResponse({"hypervisors": [one]})

    async def hypervisor(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:show")
        version = api_version(request)
        one = await run_in_threadpool(lambda: self._hypervisor(version, detail=True))
        if str(one["id"]) != request.path_params["hypervisor_id"]:
            raise errors.NotFound(
                f"Hypervisor with ID '{request.path_params['hypervisor_id']}' could not be "
                "found.")
        return JSONResponse({"hypervisor": one})

    async def statistics(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:statistics")
        if api_version(request) >= V(2, 88):
            raise errors.NotFound("The resource could not be found.")
        one = await run_in_threadpool(lambda: self._hypervisor(V(2, 1), detail=True))
        keys = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                "running_vms", "disk_available_least")
        return JSONResponse({"hypervisor_statistics": {"count": 1,
                                                       **{k: one[k] for k in keys}}})

    async def zones(self, request: Request) -> Response:
        context = await request_context(request)
        detail = request.url.path.endswith("/detail")
        if detail:
            _forbidden(context, "os_compute_api:os-availability-zone:detail")
        zones: dict[str, dict[str, Any]] = {}
        for s in self._services(V(2, 1)):
            if not detail and s["zone"] == "internal":
                continue
            hosts = zones.setdefault(s["zone"], {})
            hosts.setdefault(s["host"], {})[s["binary"]] = {
                "available": True, "active": True, "updated_at": s["updated_at"]}
        info = [{"zoneName": zone, "zoneState": {"available": True},
                 "hosts": hosts if detail else None} for zone, hosts in zones.items()]
        return JSONResponse({"availabilityZoneInfo": info})

    async def limits(self, request: Request) -> Response:
        context = await request_context(request)
        version = api_version(request)
        project = request.query_params.get("tenant_id") if context.is_admin else None
        used = await run_in_threadpool(self.servers.project_usage,
                                       project or context.project_id or "")
        quotas = {**QUOTA_DEFAULTS, **self.servers.options.quotas}
        absolute: dict[str, int] = {
            "maxServerMeta": quotas["metadata_items"], "maxImageMeta": 128,
            "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10,
            "maxTotalCores": quotas["cores"], "maxTotalInstances": quotas["instances"],
            "maxTotalRAMSize": quotas["ram"], "totalCoresUsed": used["cores"],
            "totalInstancesUsed": used["instances"], "totalRAMUsed": used["ram"],
            "totalServerGroupsUsed": 0}
        if version < V(2, 57):
            absolute.update({"maxPersonality": 5, "maxPersonalitySize": 10240})
        if version < V(2, 36):
            absolute.update({"maxSecurityGroups": 10, "maxSecurityGroupRules": 20,
                             "maxTotalFloatingIps": 10, "totalFloatingIpsUsed": 0,
                             "totalSecurityGroupsUsed": 0})
        return JSONResponse({"limits": {"rate": [], "absolute": absolute}})


def host_routes(servers: Servers, facts: HostFacts) -> list[BaseRoute]:
    """The host, zone and limits routes under ``/compute/v2.1``."""
    h = _HostHandlers(servers, facts)
    table: Sequence[tuple[str, _Handler]] = (
        ("/os-services", h.services),
        ("/os-hypervisors", h.hypervisors),
        ("/os-hypervisors/detail", h.hypervisors),
        ("/os-hypervisors/statistics", h.statistics),
        ("/os-hypervisors/{hypervisor_id}", h.hypervisor),
        ("/os-availability-zone", h.zones),
        ("/os-availability-zone/detail", h.zones),
        ("/limits", h.limits),
    )
    return [Route(path, handler, methods=["GET"]) for path, handler in table]

