"""What Nova says about its hosts and limits: ``os-hypervisors`` (admins), ``os-services``
(admins), ``os-availability-zone`` (``/detail`` for admins) and ``limits``.

One ``shoal up`` is one compute host: its hypervisor is ``QEMU`` on the machine's name, its
vCPUs and memory the machine's (``os.cpu_count``, ``/proc/meminfo``), its disk the pool's
capacity as the caller gives it. ``nova-compute`` lives in the servers' zone,
``nova-conductor`` and ``nova-scheduler`` in ``internal``, all ``up`` while ``shoal up``
runs. Ids are integers before 2.53 and UUIDs (stable per host name) from it. As in Nova:
a hypervisor's ``cpu_info`` is an object from 2.28 (a JSON string before); lists page from
2.33 (``limit``, ``marker``, ``hypervisors_links``); 2.53 adds
``hypervisor_hostname_pattern`` and ``with_servers``; from 2.88 the resource fields and
the statistics go and the detail carries ``uptime``. ``updated_at`` of the services and
zones is a naive UTC time with microseconds. ``limits`` drops the network limits (-1
before) from 2.36, ``maxImageMeta`` from 2.39 and the personality ones from 2.57; another
project's (``tenant_id``) are for admins. ``/extensions`` (any caller) lists the legacy
extensions whose routes shoal serves, as Nova's frozen list does (``/{alias}``: one, else 404).
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
from shoal._time import utcnow
from shoal.api._body import read_json
from shoal.api._context import RequestContext, request_context
from shoal.api._errors import BadRequest
from shoal.api._microversion import APIVersion, api_version
from shoal.api._validation import CINDER
from shoal.api.nova._views import nova_views
from shoal.api.nova.server_views import primitive_time
from shoal.services.compute import (
    QUOTA_DEFAULTS,
    ComputeHosts,
    ServerQuery,
    Servers,
    ServiceRecord,
)

__all__ = ["HostFacts", "host_routes"]

_Handler = Callable[[Request], Awaitable[Response]]
V = APIVersion
_NAMESPACE: Final = uuid.UUID("6f1d3c50-6d8e-4b8e-9a55-2f0c3d8a7e11")
_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})


@dataclass(frozen=True)
class HostFacts:
    """The compute hosts: the first one's name, their zone, when they started, a callable
    giving the disk they share (``(total GiB, free GiB)``, the guest disks' pool), and
    ``hosts`` (their service records; None: one host, ``host``, always up)."""

    host: str
    zone: str
    started_at: datetime
    disk_gib: Callable[[], tuple[int, int]]
    hosts: ComputeHosts | None = None

    def names(self) -> list[str]:
        """The compute hosts' names, in order."""
        return list(self.hosts.hosts) if self.hosts is not None else [self.host]


def _memory_mb() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _limit(text: str | None) -> int | None:
    """A page's ``limit``: a non-negative integer (400 otherwise, Nova's words); 0 or
    none: no limit (Nova's ``max_limit`` is far above one host)."""
    if text is None:
        return None
    if not text.isdigit():
        raise errors.InvalidArgument(f"Invalid input for query parameters limit. Value: "
                                     f"{text}. '{text}' does not match '^[0-9]*$'")
    return int(text) or None


def _servers_for(request: Request, context: RequestContext, version: APIVersion
                 ) -> RequestContext | None:
    """The caller when it asks ``with_servers`` (2.53), else None."""
    wanted = request.query_params.get("with_servers")
    if version >= V(2, 53) and wanted is not None and wanted.lower() in _TRUE:
        return context
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _uptime() -> str | None:
    """The host's uptime as ``uptime`` prints it (what Nova's libvirt driver reports);
    None when ``/proc`` cannot tell."""
    try:
        with open("/proc/uptime", encoding="ascii") as f:
            seconds = int(float(f.read().split()[0]))
        with open("/proc/loadavg", encoding="ascii") as f:
            loads = f.read().split()[:3]
    except (OSError, ValueError, IndexError):
        return None
    days, rest = divmod(seconds, 86400)
    now = datetime.now().astimezone()
    return (f" {now:%H:%M:%S} up {days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d},  "
            f"load average: {', '.join(loads)}")


def _forbidden(context: RequestContext, action: str) -> None:
    if not context.is_admin:
        raise errors.PermissionDenied(f"Policy doesn't allow {action} to be performed.")


def _id(version: APIVersion, name: str, number: int) -> Any:
    return str(uuid.uuid5(_NAMESPACE, name)) if version >= V(2, 53) else number


_HOST_BINARY: Final = {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                       "binary": {"type": "string", "minLength": 1, "maxLength": 255}}
_REASON: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                  "pattern": r"^[\w\-\. ]*$"}
_UPDATE_SERVICE: Final = {"type": "object", "minProperties": 1,
                          "additionalProperties": False, "properties": {
                              "status": {"type": "string", "enum": ["enabled", "disabled"]},
                              "disabled_reason": _REASON,
                              "forced_down": {"type": "boolean"}}}
_OLD_ACTIONS: Final = {
    "enable": {"type": "object", "required": ["host", "binary"],
               "additionalProperties": False, "properties": _HOST_BINARY},
    "disable": {"type": "object", "required": ["host", "binary"],
                "additionalProperties": False, "properties": _HOST_BINARY},
    "disable-log-reason": {"type": "object", "required": ["host", "binary"],
                           "additionalProperties": False,
                           "properties": {**_HOST_BINARY, "disabled_reason": _REASON}},
    "force-down": {"type": "object", "required": ["host", "binary", "forced_down"],
                   "additionalProperties": False,
                   "properties": {**_HOST_BINARY,
                                  "forced_down": {"type": ["boolean", "string"]}}},
}


def _truthy(value: object) -> bool:
    return value is True or str(value).lower() in _TRUE


class _HostHandlers:
    def __init__(self, servers: Servers, facts: HostFacts) -> None:
        self.servers = servers
        self.facts = facts

    def _records(self) -> list[ServiceRecord]:
        if self.facts.hosts is not None:
            return self.facts.hosts.services()
        now = utcnow()
        host = self.facts.host
        return [ServiceRecord(n, str(uuid.uuid5(_NAMESPACE, f"{b}@{host}")), host, b,
                              zone, False, None, False, now)
                for n, (b, zone) in enumerate((("nova-scheduler", "internal"),
                                               ("nova-conductor", "internal"),
                                               ("nova-compute", self.facts.zone)), 1)]

    @staticmethod
    def _service_view(s: ServiceRecord, version: APIVersion) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": s.uuid if version >= V(2, 53) else s.id, "binary": s.binary,
            "host": s.host, "zone": s.zone, "status": s.status, "state": s.state,
            "updated_at": primitive_time(s.updated_at), "disabled_reason": s.disabled_reason}
        if version >= V(2, 11):
            item["forced_down"] = s.forced_down
        return item

    def _services(self, version: APIVersion) -> list[dict[str, Any]]:
        return [self._service_view(s, version) for s in self._records()]

    def _compute(self, host: str) -> ServiceRecord:
        return next(s for s in self._records() if s.host == host and s.binary == "nova-compute")

    async def services(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-services:list")
        params = request.query_params
        # an empty filter filters nothing, as in Nova
        found = [s for s in self._services(api_version(request))
                 if params.get("binary") in (None, "", s["binary"])
                 and params.get("host") in (None, "", s["host"])]
        return JSONResponse({"services": found})

    async def update_service(self, request: Request) -> Response:
        """``PUT /os-services/{id}`` (2.53+: ``status``, ``disabled_reason``,
        ``forced_down``) and, before 2.53, ``PUT /os-services/{enable, disable,
        disable-log-reason, force-down}`` naming ``host`` and ``binary``."""
        context = await request_context(request)
        version = api_version(request)
        hosts = self.facts.hosts
        if hosts is None:
            raise errors.NotSupported("this deployment's services cannot be changed")
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        ident = request.path_params["service_id"]
        if version >= V(2, 53):
            CINDER.check(_UPDATE_SERVICE, body)
            status = body.get("status")
            done = await run_in_threadpool(lambda: hosts.update(
                context, ident, disabled=None if status is None else status == "disabled",
                disabled_reason=body.get("disabled_reason"),
                forced_down=body.get("forced_down")))
            return JSONResponse({"service": self._service_view(done, version)})
        if ident not in _OLD_ACTIONS or (ident == "force-down" and version < V(2, 11)):
            raise errors.NotFound("The resource could not be found.")
        CINDER.check(_OLD_ACTIONS[ident], body)
        target = f"{body['host']}/{body['binary']}"
        if ident == "force-down":
            done = await run_in_threadpool(lambda: hosts.update(
                context, target, forced_down=_truthy(body["forced_down"])))
            return JSONResponse({"service": {"host": done.host, "binary": done.binary,
                                             "forced_down": done.forced_down}})
        done = await run_in_threadpool(lambda: hosts.update(
            context, target, disabled=ident != "enable",
            disabled_reason=body.get("disabled_reason")))
        reply = {"host": done.host, "binary": done.binary, "status": done.status}
        if ident == "disable-log-reason":
            reply["disabled_reason"] = done.disabled_reason or ""
        return JSONResponse({"service": reply})

    def _hypervisor(self, version: APIVersion, host: str, *, detail: bool,
                    servers_for: RequestContext | None = None) -> dict[str, Any]:
        """``host``'s hypervisor at ``version`` (``detail``: its resources, which go
        from 2.88 where ``uptime`` comes; ``servers_for``, 2.53's ``with_servers``: the
        servers on it as that admin lists them)."""
        number = self.facts.names().index(host) + 1
        service = self._compute(host)
        item: dict[str, Any] = {"id": _id(version, f"hypervisor@{host}", number),
                                "hypervisor_hostname": host, "state": service.state,
                                "status": service.status}
        if detail:
            item.update({"hypervisor_type": "QEMU", "hypervisor_version": 8002000,
                         "host_ip": "127.0.0.1", "service": {
                             "host": host,
                             "id": service.uuid if version >= V(2, 53) else service.id,
                             "disabled_reason": service.disabled_reason}})
            if version >= V(2, 88):
                item["uptime"] = _uptime()
            else:
                item.update(self._resources(host))
                item["cpu_info"] = {} if version >= V(2, 28) else "{}"
        if servers_for is not None:
            on_host = self.servers.list_servers(
                servers_for, ServerQuery(all_projects=True, host=host,
                                         sort_keys=("created_at",), sort_dirs=("asc",)))
            if on_host or version >= V(2, 75):
                item["servers"] = [{"name": s.name, "uuid": s.id} for s in on_host]
        return item

    def _resources(self, host: str) -> dict[str, int]:
        """What ``host`` has and its servers use (vCPUs, MiB, GiB; the disk is the pool
        the hosts share, as Nova reports shared RBD storage on every host)."""
        used = self.servers.usage(host)
        total_gib, free_gib = self.facts.disk_gib()
        memory = _memory_mb()
        return {
            "vcpus": os.cpu_count() or 1, "memory_mb": memory, "local_gb": total_gib,
            "vcpus_used": used["vcpus"], "memory_mb_used": used["memory_mb"],
            "local_gb_used": used["local_gb"], "free_ram_mb": memory - used["memory_mb"],
            "free_disk_gb": total_gib - used["local_gb"], "current_workload": 0,
            "running_vms": used["servers"], "disk_available_least": free_gib}

    def _all(self, version: APIVersion, *, detail: bool, pattern: str | None = None,
             servers_for: RequestContext | None = None) -> list[dict[str, Any]]:
        return [self._hypervisor(version, h, detail=detail, servers_for=servers_for)
                for h in self.facts.names() if pattern is None or pattern in h]

    def _pattern(self, request: Request, version: APIVersion) -> str | None:
        """From 2.53 ``hypervisor_hostname_pattern`` selects hypervisors by name (404 when
        none matches, as Nova)."""
        pattern = request.query_params.get("hypervisor_hostname_pattern")
        if pattern is None or version < V(2, 53):
            return None
        if not any(pattern in h for h in self.facts.names()):
            raise errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return pattern

    async def hypervisors(self, request: Request) -> Response:
        """List (or ``/detail``) the hypervisors; from 2.33 paged by ``limit`` and
        ``marker`` (an id of the previous page) with a ``next`` link when the page is
        full; from 2.53 ``hypervisor_hostname_pattern`` (not with paging) and
        ``with_servers``."""
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:list")
        version = api_version(request)
        detail = request.url.path.endswith("/detail")
        params = request.query_params
        paged = version >= V(2, 33) and ("limit" in params or "marker" in params)
        if paged and version >= V(2, 53) and "hypervisor_hostname_pattern" in params:
            raise errors.InvalidArgument(
                "Paging over hypervisors with the hypervisor_hostname_pattern query "
                "parameter is not supported.")
        pattern = self._pattern(request, version)
        found = await run_in_threadpool(lambda: self._all(
            version, detail=detail, pattern=pattern,
            servers_for=_servers_for(request, context, version)))
        body: dict[str, Any] = {"hypervisors": found}
        if paged:
            limit = _limit(params.get("limit"))
            marker = params.get("marker")
            if marker is not None:
                ids = [str(h["id"]) for h in found]
                if marker not in ids:
                    raise errors.InvalidArgument(f"marker [{marker}] not found")
                del found[:ids.index(marker) + 1]
            if limit is not None:
                del found[limit:]
                if found and len(found) == limit:
                    body["hypervisors_links"] = [{"rel": "next", "href": nova_views(
                        request, context).next_link(
                        "os-hypervisors/detail" if detail else "os-hypervisors",
                        params.multi_items(), str(found[-1]["id"]))}]
        return JSONResponse(body)

    def _one(self, version: APIVersion, wanted: str) -> str:
        """The host whose hypervisor ``wanted`` names: a UUID from 2.53 (400 ``Invalid
        uuid X`` otherwise), else 404 as Nova."""
        if version >= V(2, 53) and not _is_uuid(wanted):
            raise errors.InvalidArgument(f"Invalid uuid {wanted}")
        for number, host in enumerate(self.facts.names(), 1):
            if wanted == str(_id(version, f"hypervisor@{host}", number)):
                return host
        raise errors.NotFound(f"Hypervisor with ID '{wanted}' could not be found.")

    async def hypervisor(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:show")
        version = api_version(request)
        host = self._one(version, request.path_params["hypervisor_id"])
        one = await run_in_threadpool(lambda: self._hypervisor(
            version, host, detail=True, servers_for=_servers_for(request, context, version)))
        return JSONResponse({"hypervisor": one})

    async def uptime(self, request: Request) -> Response:
        """``/os-hypervisors/{id}/uptime`` (2.1 to 2.87; the detail carries it from 2.88):
        the brief view with the host's ``uptime``."""
        context = await request_context(request)
        version = api_version(request)
        if version >= V(2, 88):
            raise errors.NotFound("The resource could not be found.")
        _forbidden(context, "os_compute_api:os-hypervisors:uptime")
        host = self._one(version, request.path_params["hypervisor_id"])
        uptime = _uptime()
        if uptime is None:
            raise errors.NotSupported("Feature not supported: the host's uptime is not "
                                      "readable here.")
        return JSONResponse({"hypervisor": {**self._hypervisor(version, host, detail=False),
                                            "uptime": uptime}})

    async def search(self, request: Request) -> Response:
        """``/os-hypervisors/{pattern}/search`` and ``.../servers`` (before 2.53, where
        the query parameters replace them): the hypervisors whose name holds the
        pattern (404 when none), ``servers`` with the servers on each (when any)."""
        context = await request_context(request)
        version = api_version(request)
        if version >= V(2, 53):
            raise errors.NotFound("The resource could not be found.")
        servers = request.url.path.endswith("/servers")
        _forbidden(context, "os_compute_api:os-hypervisors:"
                   + ("servers" if servers else "search"))
        pattern = request.path_params["pattern"]
        found = await run_in_threadpool(lambda: self._all(
            version, detail=False, pattern=pattern, servers_for=context if servers else None))
        if not found:
            raise errors.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return JSONResponse({"hypervisors": found})

    async def statistics(self, request: Request) -> Response:
        context = await request_context(request)
        _forbidden(context, "os_compute_api:os-hypervisors:statistics")
        if api_version(request) >= V(2, 88):
            raise errors.NotFound("The resource could not be found.")
        each = await run_in_threadpool(lambda: [self._resources(h)
                                                for h in self.facts.names()])
        total = {k: sum(r[k] for r in each) for k in each[0]}
        # the hosts share one pool: its capacity is counted once
        for key in ("local_gb", "disk_available_least"):
            total[key] = each[0][key]
        total["free_disk_gb"] = total["local_gb"] - total["local_gb_used"]
        return JSONResponse({"hypervisor_statistics": {"count": len(each), **total}})

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
        """The caller's project's limits and use (``tenant_id``: another project's, for
        admins). From 2.36 the network limits go, from 2.39 ``maxImageMeta``, from 2.57
        the personality ones (Nova's filtered limits); the network ones are -1 (Nova
        with Neutron)."""
        context = await request_context(request)
        version = api_version(request)
        project = request.query_params.get("tenant_id")
        if project is not None:
            _forbidden(context, "os_compute_api:limits:other_project")
        used = await run_in_threadpool(self.servers.project_usage,
                                       project or context.project_id or "")
        quotas = {**QUOTA_DEFAULTS, **self.servers.limits(project or context.project_id or "")}
        absolute: dict[str, int] = {
            "maxServerMeta": quotas["metadata_items"],
            "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10,
            "maxTotalCores": quotas["cores"], "maxTotalInstances": quotas["instances"],
            "maxTotalRAMSize": quotas["ram"], "totalCoresUsed": used["cores"],
            "totalInstancesUsed": used["instances"], "totalRAMUsed": used["ram"],
            "totalServerGroupsUsed": 0}
        if version < V(2, 39):
            absolute["maxImageMeta"] = quotas["metadata_items"]
        if version < V(2, 57):
            absolute.update({"maxPersonality": 5, "maxPersonalitySize": 10240})
        if version < V(2, 36):
            absolute.update({"maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
                             "maxTotalFloatingIps": -1, "totalFloatingIpsUsed": 0,
                             "totalSecurityGroupsUsed": 0})
        return JSONResponse({"limits": {"rate": [], "absolute": absolute}})


#: The legacy extensions whose routes shoal serves: (name, alias, description).
_EXTENSIONS: Final = (
    ("AdminActions", "os-admin-actions", "Server actions for admins (reset state)."),
    ("AvailabilityZone", "os-availability-zone", "Zones of the servers and hosts."),
    ("DiskConfig", "OS-DCF", "The diskConfig of servers."),
    ("ExtendedServerAttributes", "OS-EXT-SRV-ATTR", "Host and instance name of servers."),
    ("ExtendedStatus", "OS-EXT-STS", "vm_state, task_state and power_state of servers."),
    ("ExtendedVolumes", "os-extended-volumes", "Volumes attached to servers."),
    ("FlavorAccess", "os-flavor-access", "Projects that may use a private flavor."),
    ("FlavorExtraSpecs", "os-flavor-extra-specs", "Extra specs of flavors."),
    ("FlavorManage", "os-flavor-manage", "Creating and deleting flavors."),
    ("Hypervisors", "os-hypervisors", "The compute hosts' hypervisors (admins)."),
    ("InstanceActions", "os-instance-actions", "Actions taken on servers, with events."),
    ("Keypairs", "os-keypairs", "Key pairs."),
    ("Lock", "os-lock-server", "Locking and unlocking servers."),
    ("MigrateServer", "os-migrate-server", "Cold and live migration of servers."),
    ("Migrations", "os-migrations", "Migrations of servers (admins)."),
    ("PauseServer", "os-pause-server", "Pausing and unpausing servers."),
    ("QuotaSets", "os-quota-sets", "Quotas of projects."),
    ("ServerExternalEvents", "os-server-external-events", "Events from other services."),
    ("ServerMetadata", "server-metadata", "Metadata of servers."),
    ("Services", "os-services", "The compute services (admins)."),
    ("ServerStartStop", "os-server-start-stop", "Starting and stopping servers."),
    ("SuspendServer", "os-suspend-server", "Suspending and resuming servers."),
    ("VolumeAttachments", "os-volumes", "Volumes attached to servers."),
)
#: What every entry carries besides its name, alias and description (Nova's constants).
_EXTENSION_STAMP: Final = {"namespace": "http://docs.openstack.org/compute/ext/fake_xml",
                           "updated": "2014-12-03T00:00:00Z", "links": []}


def _extension(name: str, alias: str, description: str) -> dict[str, Any]:
    return {"name": name, "alias": alias, "description": description, **_EXTENSION_STAMP}


async def _extensions(request: Request) -> Response:
    """``GET /extensions``: every entry of :data:`_EXTENSIONS` (any authenticated caller)."""
    await request_context(request)
    return JSONResponse({"extensions": [_extension(*entry) for entry in _EXTENSIONS]})


async def _one_extension(request: Request) -> Response:
    """``GET /extensions/{alias}``: that entry; 404 for an alias not in the list."""
    await request_context(request)
    alias = request.path_params["alias"]
    for entry in _EXTENSIONS:
        if entry[1] == alias:
            return JSONResponse({"extension": _extension(*entry)})
    raise errors.NotFound("The resource could not be found.")


def host_routes(servers: Servers, facts: HostFacts) -> list[BaseRoute]:
    """The host, zone and limits routes under ``/compute/v2.1``."""
    h = _HostHandlers(servers, facts)
    table: Sequence[tuple[str, _Handler]] = (
        ("/os-services", h.services),
        ("/os-hypervisors", h.hypervisors),
        ("/os-hypervisors/detail", h.hypervisors),
        ("/os-hypervisors/statistics", h.statistics),
        ("/os-hypervisors/{hypervisor_id}", h.hypervisor),
        ("/os-hypervisors/{hypervisor_id}/uptime", h.uptime),
        ("/os-hypervisors/{pattern}/search", h.search),
        ("/os-hypervisors/{pattern}/servers", h.search),
        ("/os-availability-zone", h.zones),
        ("/os-availability-zone/detail", h.zones),
        ("/limits", h.limits),
        ("/extensions", _extensions),
        ("/extensions/{alias}", _one_extension),
    )
    return [*(Route(path, handler, methods=["GET"]) for path, handler in table),
            Route("/os-services/{service_id}", h.update_service, methods=["PUT"])]

