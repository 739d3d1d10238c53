"""The domain XML upstream Nova's libvirt driver writes for a guest whose disks are RBD
images, generated with :mod:`xml.etree.ElementTree`.

A guest's own disks (root ``<uuid>_disk``, ephemeral ``_disk.local``, swap
``_disk.swap`` in ``[libvirt] images_rbd_pool``) come out as Nova's ``Rbd`` image
backend describes them::

    <disk type="network" device="disk">
      <driver type="raw" cache="none" discard="unmap"/>     no name; discard = hw_disk_discard
      <source protocol="rbd" name="vms/<uuid>_disk">
        <host name="10.0.0.1" port="6789"/>                  one per monitor
      </source>
      <auth username="cinder"><secret type="ceph" uuid="<rbd_secret_uuid>"/></auth>
      <target dev="vda" bus="virtio"/>
    </disk>

Attached Cinder volumes come from their ``connection_info`` as Nova's network volume
driver writes them: ``<driver name="qemu" type="raw" cache="none">`` (``name`` for
``virt_type`` kvm and qemu), ``discard="unmap"`` only when the connection's ``data``
says ``discard: true``, the monitors and auth of the connection (``auth_username`` /
``secret_uuid``; Nova's own ``rbd_user`` / ``rbd_secret_uuid`` when the connection
has auth enabled but no ``secret_uuid``, or has it disabled while ``rbd_secret_uuid``
is set), ``<alias name="ua-<volume id>"/>``, ``<serial>`` = the volume id,
``<readonly/>`` for ``access_mode: ro``, ``<shareable/>`` (cache ``none``) for
``multiattach``, ``<iotune>`` from ``qos_specs`` and ``<blockio>`` from the block sizes.

Cache modes are Nova's: ``none`` (Nova's choice where the instance directory supports
O_DIRECT; :attr:`LibvirtSettings.default_cache_mode`) for the guest's own disks,
``none`` for volumes, each replaced by ``[libvirt] disk_cachemodes``' ``network=MODE``.
SCSI disks (``sdX``, e.g. ``hw_disk_bus=scsi``) get Nova's ``virtio-scsi`` controller
and a drive address each, units in device order.

The rest of the domain is what Nova writes for an x86 KVM guest without a graphical
console: ``<memory>`` in KiB, ``<vcpu>``, the OpenStack SMBIOS ``<sysinfo>``, ``<os>``
(``hvm``, boot from ``hd``), ACPI/APIC, a UTC clock with Nova's timers, a host-model CPU
of ``vcpus`` sockets, a serial pty and a virtio memory balloon. The output parses with
libvirt's ``virt-xml-validate FILE domain``.
"""

from __future__ import annotations

import re
import uuid as uuid_mod
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shoal.config import LibvirtSection
from shoal.services.compute.libvirt._errors import InvalidGuest, UnsupportedGuest
from shoal.services.compute.libvirt._monitors import Monitor, monitors_from_addresses

__all__ = [
    "AttachedVolume",
    "GuestDescription",
    "ImageDisk",
    "LibvirtSettings",
    "disk_xml",
    "domain_element",
    "domain_xml",
]

#: libvirt's cache modes (``[libvirt] disk_cachemodes`` takes the same).
CACHE_MODES = frozenset({"default", "none", "writethrough", "writeback", "directsync",
                         "unsafe"})
_DISCARD_MODES = frozenset({"ignore", "unmap"})
_VIRT_TYPES = frozenset({"kvm", "qemu"})
#: Disk bus by the target device's prefix, as Nova's ``blockinfo`` names devices.
_BUS_BY_PREFIX = {"vd": "virtio", "sd": "scsi", "hd": "ide"}
_BUSES = frozenset({"virtio", "scsi", "ide", "sata", "usb"})
_TARGET_DEV = re.compile(r"(vd|sd|hd)[a-z]{1,3}")
#: ``qos_specs`` keys Nova copies into ``<iotune>``, in the order it writes them.
_IOTUNE_KEYS = ("read_bytes_sec", "read_iops_sec", "write_bytes_sec", "write_iops_sec",
                "total_bytes_sec", "total_iops_sec", "read_bytes_sec_max",
                "write_bytes_sec_max", "total_bytes_sec_max", "read_iops_sec_max",
                "write_iops_sec_max", "total_iops_sec_max", "size_iops_sec")
_KIB_PER_MIB = 1024
_NETWORK = "network"  # the disk type disk_cachemodes keys RBD disks by


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid_mod.UUID(str(value)))
    except ValueError:
        raise InvalidGuest(f"{what} {value!r} is not a UUID") from None


def _rbd_part(value: str, what: str) -> str:
    if not value or any(c in value for c in "/@") or not value.isprintable():
        raise InvalidGuest(f"{what} {value!r} is not an RBD pool or image name "
                           "(empty, or holds '/', '@' or control characters)")
    return value


def _bus(target_dev: str, bus: str | None) -> str:
    if _TARGET_DEV.fullmatch(target_dev) is None:
        raise InvalidGuest(f"target device {target_dev!r} is not vdX, sdX or hdX")
    chosen = bus or _BUS_BY_PREFIX[target_dev[:2]]
    if chosen not in _BUSES:
        raise InvalidGuest(f"disk bus {chosen!r} of {target_dev} is not one of "
                           f"{', '.join(sorted(_BUSES))}")
    return chosen


@dataclass(frozen=True)
class ImageDisk:
    """A guest's own disk: RBD image ``name`` in ``pool`` (None: the settings'
    ``images_rbd_pool``) seen by the guest as ``target_dev`` (``vda``, ``vdb`` ...) on
    ``bus`` (None: from the device's prefix: ``vd`` virtio, ``sd`` scsi, ``hd`` ide).

    Raises:
        InvalidGuest: an empty name or pool, one holding ``/`` or ``@``, a target
            device that is not ``vdX``/``sdX``/``hdX``, an unknown bus.
    """

    name: str
    target_dev: str
    pool: str | None = None
    bus: str | None = None

    def __post_init__(self) -> None:
        _rbd_part(self.name, "disk image")
        if self.pool is not None:
            _rbd_part(self.pool, "disk pool")
        object.__setattr__(self, "bus", _bus(self.target_dev, self.bus))

    @classmethod
    def of_server(cls, server_uuid: str, disk_name: str, target_dev: str, *,
                  pool: str | None = None, bus: str | None = None) -> ImageDisk:
        """The disk Nova names ``<server uuid>_<disk_name>`` (``disk``, ``disk.local``,
        ``disk.swap``, ``disk.eph1`` ...).

        Raises:
            InvalidGuest: ``server_uuid`` is not a UUID, or as the constructor.
        """
        return cls(f"{_uuid(server_uuid, 'server uuid')}_{disk_name}", target_dev,
                   pool=pool, bus=bus)


@dataclass(frozen=True)
class AttachedVolume:
    """A Cinder volume attached to the guest: ``connection_info`` as the volume API
    returns it (``{"driver_volume_type": "rbd", "data": {"name": "POOL/volume-ID",
    "hosts", "ports", "auth_enabled", "auth_username", "secret_type", "secret_uuid",
    "discard", "access_mode", "qos_specs", ...}}``), seen by the guest as ``target_dev``.

    Raises:
        InvalidGuest: ``volume_id`` is not a UUID, or the target device or bus is bad
            (the connection itself is checked when the XML is written).
    """

    volume_id: str
    connection_info: Mapping[str, Any]
    target_dev: str
    bus: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume_id", _uuid(self.volume_id, "volume id"))
        object.__setattr__(self, "bus", _bus(self.target_dev, self.bus))


@dataclass(frozen=True)
class GuestDescription:
    """A guest: server ``uuid``, libvirt domain ``name`` (Nova's ``instance-%08x``),
    ``memory_mib`` (MiB, written as KiB), ``vcpus``, its own ``disks`` and its attached
    ``volumes`` (devices in this order; a boot-from-volume guest has no disks and its
    boot volume first).

    Raises:
        InvalidGuest: a bad UUID; an empty name or one holding ``/`` or control
            characters; memory or vcpus below 1; two devices on one target, or one
            volume twice.
    """

    uuid: str
    name: str
    memory_mib: int
    vcpus: int
    disks: tuple[ImageDisk, ...] = ()
    volumes: tuple[AttachedVolume, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "uuid", _uuid(self.uuid, "server uuid"))
        if not self.name or "/" in self.name or not self.name.isprintable():
            raise InvalidGuest(f"domain name {self.name!r} is empty or holds '/' or "
                               "control characters")
        if self.memory_mib < 1 or self.vcpus < 1:
            raise InvalidGuest(f"guest {self.uuid}: memory {self.memory_mib} MiB and "
                               f"{self.vcpus} vcpus must both be at least 1")
        object.__setattr__(self, "disks", tuple(self.disks))
        object.__setattr__(self, "volumes", tuple(self.volumes))
        targets = [d.target_dev for d in self.devices]
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise InvalidGuest(f"guest {self.uuid}: several devices on {', '.join(twice)}")
        ids = [v.volume_id for v in self.volumes]
        if len(set(ids)) != len(ids):
            raise InvalidGuest(f"guest {self.uuid}: a volume is attached twice")

    @property
    def devices(self) -> tuple[ImageDisk | AttachedVolume, ...]:
        """The disks, then the volumes: the order of the domain's ``<disk>`` elements."""
        return (*self.disks, *self.volumes)


@dataclass(frozen=True)
class LibvirtSettings:
    """What the domain XML takes from the configuration (Nova's ``[libvirt]``) and the
    cluster (its ``monitors``, for the guest's own disks).

    ``default_cache_mode`` is Nova's ``disk_cachemode`` (``none``; Nova falls back to
    ``writeback`` where its instance directory lacks O_DIRECT); ``cache_modes`` is
    ``disk_cachemodes`` as ``{disk type: mode}`` (only ``network`` applies to RBD).

    Raises:
        InvalidGuest: an unknown cache or discard mode, a bad ``rbd_secret_uuid``.
    """

    virt_type: str = "kvm"
    images_type: str = "rbd"
    images_rbd_pool: str = "rbd"
    rbd_user: str | None = None
    rbd_secret_uuid: str | None = None
    hw_disk_discard: str | None = None
    cache_modes: Mapping[str, str] = field(default_factory=dict)
    monitors: tuple[Monitor, ...] = ()
    default_cache_mode: str = "none"

    def __post_init__(self) -> None:
        modes = [self.default_cache_mode, *self.cache_modes.values()]
        bad = [m for m in modes if m not in CACHE_MODES]
        if bad:
            raise InvalidGuest(f"cache mode {bad[0]!r} is not one of "
                               f"{', '.join(sorted(CACHE_MODES))}")
        if self.hw_disk_discard is not None and self.hw_disk_discard not in _DISCARD_MODES:
            raise InvalidGuest(f"hw_disk_discard {self.hw_disk_discard!r} is not ignore "
                               "or unmap")
        if self.rbd_secret_uuid is not None:
            object.__setattr__(self, "rbd_secret_uuid",
                               _uuid(self.rbd_secret_uuid, "rbd_secret_uuid"))
        object.__setattr__(self, "cache_modes", dict(self.cache_modes))
        object.__setattr__(self, "monitors", tuple(self.monitors))

    @classmethod
    def from_config(cls, libvirt: LibvirtSection, monitors: Iterable[Monitor], *,
                    default_cache_mode: str = "none") -> LibvirtSettings:
        """The settings of a ``[libvirt]`` section (``cfg.libvirt``) and the cluster's
        monitors (:func:`~shoal.services.compute.libvirt.parse_mon_host` of ceph.conf's
        ``mon_host``, or :func:`~shoal.services.compute.libvirt.monitors_from_addresses`
        of ``mon dump``'s).

        Raises:
            InvalidGuest: as the constructor.
        """
        return cls(virt_type=libvirt.virt_type, images_type=libvirt.images_type,
                   images_rbd_pool=libvirt.images_rbd_pool, rbd_user=libvirt.rbd_user,
                   rbd_secret_uuid=libvirt.rbd_secret_uuid,
                   hw_disk_discard=libvirt.hw_disk_discard,
                   cache_modes=libvirt.cache_modes, monitors=tuple(monitors),
                   default_cache_mode=default_cache_mode)

    def cache_mode(self, base: str) -> str:
        """Nova's ``_set_cache_mode`` for an RBD disk whose own mode is ``base``."""
        return self.cache_modes.get(_NETWORK, base)

    def local_auth(self) -> tuple[str, str] | None:
        """``(username, secret uuid)`` of the guest's own disks (Nova's ``rbd_user`` and
        ``rbd_secret_uuid``), None when neither is set (a cluster without cephx).

        Raises:
            InvalidGuest: only one of them is set (libvirt would get an ``<auth>``
                without a user or a secret).
        """
        if self.rbd_user is None and self.rbd_secret_uuid is None:
            return None
        if self.rbd_user is None or self.rbd_secret_uuid is None:
            raise InvalidGuest(
                "[libvirt] rbd_user and rbd_secret_uuid go together: the libvirt secret "
                f"rbd_secret_uuid = {self.rbd_secret_uuid or '(unset)'} holds the key of "
                f"rbd_user = {self.rbd_user or '(unset)'}; set both")
        return self.rbd_user, self.rbd_secret_uuid


# --- elements --------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _rbd_disk() -> ET.Element:
    return ET.Element("disk", {"type": "network", "device": "disk"})


def _source(disk: ET.Element, name: str, monitors: Sequence[Monitor]) -> None:
    source = _sub(disk, "source", protocol="rbd", name=name)
    for monitor in monitors:
        _sub(source, "host", name=monitor.host, port=str(monitor.port))


def _auth(disk: ET.Element, username: str, secret_uuid: str, secret_type: str) -> None:
    auth = _sub(disk, "auth", username=username)
    _sub(auth, "secret", type=secret_type, uuid=secret_uuid)


def _image_disk(disk: ImageDisk, settings: LibvirtSettings) -> ET.Element:
    if settings.images_type != "rbd":
        raise InvalidGuest(f"[libvirt] images_type = {settings.images_type}: shoal keeps "
                           "guest disks in RBD only; set images_type = rbd")
    element = _rbd_disk()
    driver = {"type": "raw", "cache": settings.cache_mode(settings.default_cache_mode)}
    if settings.hw_disk_discard is not None:
        driver["discard"] = settings.hw_disk_discard
    _sub(element, "driver", **driver)
    pool = _rbd_part(disk.pool or settings.images_rbd_pool, "images_rbd_pool")
    _source(element, f"{pool}/{disk.name}", settings.monitors)
    auth = settings.local_auth()
    if auth is not None:
        _auth(element, auth[0], auth[1], "ceph")
    _sub(element, "target", dev=disk.target_dev, bus=str(disk.bus))
    return element


def _data(volume: AttachedVolume) -> Mapping[str, Any]:
    info = volume.connection_info
    kind = info.get("driver_volume_type")
    if kind != "rbd":
        raise UnsupportedGuest(f"volume {volume.volume_id}: driver_volume_type {kind!r}; "
                               "shoal attaches RBD volumes only")
    data = info.get("data")
    if not isinstance(data, Mapping):
        raise InvalidGuest(f"volume {volume.volume_id}: connection_info has no data")
    name = data.get("name")
    if not isinstance(name, str) or name.count("/") != 1:
        raise InvalidGuest(f"volume {volume.volume_id}: connection name {name!r} is not "
                           "POOL/IMAGE")
    for part in name.split("/"):
        _rbd_part(part, f"volume {volume.volume_id} connection name")
    return data


def _volume_auth(volume: AttachedVolume, data: Mapping[str, Any],
                 settings: LibvirtSettings) -> tuple[str, str, str] | None:
    """``(username, secret uuid, secret type)`` as Nova's ``_set_auth_config_rbd``."""
    secret_type = str(data.get("secret_type") or "ceph")
    if data.get("auth_enabled"):
        username, secret_uuid = data.get("auth_username"), data.get("secret_uuid")
        if secret_uuid is None:  # a connection from before Cinder sent its secret
            username, secret_uuid = settings.rbd_user, settings.rbd_secret_uuid
    elif settings.rbd_secret_uuid:
        username, secret_uuid = settings.rbd_user, settings.rbd_secret_uuid
    else:
        return None
    if not username or not secret_uuid:
        raise InvalidGuest(f"volume {volume.volume_id}: auth is enabled but the user "
                           f"({username or 'unset'}) or the secret uuid "
                           f"({secret_uuid or 'unset'}) is not known")
    return str(username), _uuid(str(secret_uuid), f"volume {volume.volume_id} secret_uuid"), \
        secret_type


def _number(value: object, what: str) -> str:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit():
        raise InvalidGuest(f"{what} {value!r} is not a whole number")
    return text


def _volume_disk(volume: AttachedVolume, settings: LibvirtSettings) -> ET.Element:
    data = _data(volume)
    shareable = bool(volume.connection_info.get("multiattach"))
    element = _rbd_disk()
    driver = {"type": "raw", "cache": "none" if shareable else settings.cache_mode("none")}
    if settings.virt_type in _VIRT_TYPES:
        driver = {"name": "qemu", **driver}
    if data.get("discard", False) is True:
        driver["discard"] = "unmap"
    _sub(element, "driver", **driver)
    _sub(element, "alias", name=f"ua-{volume.volume_id}")
    hosts, ports = data.get("hosts") or [], data.get("ports") or []
    if not isinstance(hosts, Sequence) or not isinstance(ports, Sequence):
        raise InvalidGuest(f"volume {volume.volume_id}: hosts and ports must be lists")
    _source(element, str(data["name"]), monitors_from_addresses(list(hosts), list(ports)))
    auth = _volume_auth(volume, data, settings)
    if auth is not None:
        _auth(element, *auth)
    _sub(element, "target", dev=volume.target_dev, bus=str(volume.bus))
    _sub(element, "serial", volume.volume_id)
    _volume_tuning(element, volume, data)
    if shareable:
        _sub(element, "shareable")
    return element


def _volume_tuning(element: ET.Element, volume: AttachedVolume,
                   data: Mapping[str, Any]) -> None:
    """``<iotune>`` (``qos_specs``), ``<blockio>`` and ``<readonly/>`` (``access_mode``)."""
    specs = data.get("qos_specs") or {}
    if not isinstance(specs, Mapping):
        raise InvalidGuest(f"volume {volume.volume_id}: qos_specs is not a mapping")
    tune = [(key, _number(specs[key], f"qos spec {key}")) for key in _IOTUNE_KEYS
            if specs.get(key) is not None]
    if tune:
        iotune = _sub(element, "iotune")
        for key, value in tune:
            _sub(iotune, key, value)
    sizes = {key: _number(data[key], key) for key in ("logical_block_size",
                                                       "physical_block_size") if key in data}
    if sizes:
        _sub(element, "blockio", **sizes)
    mode = data.get("access_mode")
    if mode not in (None, "", "rw", "ro"):
        raise InvalidGuest(f"volume {volume.volume_id}: access_mode {mode!r} is not rw or ro")
    if mode == "ro":
        _sub(element, "readonly")


def _check_virt_type(settings: LibvirtSettings) -> None:
    if settings.virt_type not in _VIRT_TYPES:
        raise UnsupportedGuest(f"[libvirt] virt_type = {settings.virt_type}: shoal writes "
                               "kvm and qemu domains only")


def _disk_element(disk: ImageDisk | AttachedVolume, settings: LibvirtSettings) -> ET.Element:
    if isinstance(disk, ImageDisk):
        return _image_disk(disk, settings)
    return _volume_disk(disk, settings)


def _devices(domain: ET.Element, guest: GuestDescription, settings: LibvirtSettings) -> None:
    devices = _sub(domain, "devices")
    unit = 0
    for disk in guest.devices:
        element = _disk_element(disk, settings)
        if disk.bus == "scsi":
            _sub(element, "address", type="drive", controller="0", unit=str(unit))
            unit += 1
        devices.append(element)
    if unit:
        _sub(devices, "controller", type="scsi", index="0", model="virtio-scsi")
    _sub(devices, "serial", type="pty")
    balloon = _sub(devices, "memballoon", model="virtio")
    _sub(balloon, "stats", period="10")


def _head(domain: ET.Element, guest: GuestDescription) -> None:
    """uuid, name, memory, vcpu, sysinfo, os, features, clock and cpu, in Nova's order."""
    _sub(domain, "uuid", guest.uuid)
    _sub(domain, "name", guest.name)
    _sub(domain, "memory", str(guest.memory_mib * _KIB_PER_MIB))
    _sub(domain, "vcpu", str(guest.vcpus))
    system = _sub(_sub(domain, "sysinfo", type="smbios"), "system")
    for name, value in (("manufacturer", "OpenStack Foundation"),
                        ("product", "OpenStack Nova"), ("serial", guest.uuid),
                        ("uuid", guest.uuid), ("family", "Virtual Machine")):
        _sub(system, "entry", value, name=name)
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm")
    _sub(os_element, "boot", dev="hd")
    _sub(os_element, "smbios", mode="sysinfo")
    features = _sub(domain, "features")
    _sub(features, "acpi")
    _sub(features, "apic")
    clock = _sub(domain, "clock", offset="utc")
    _sub(clock, "timer", name="pit", tickpolicy="delay")
    _sub(clock, "timer", name="rtc", tickpolicy="catchup")
    _sub(clock, "timer", name="hpet", present="no")
    cpu = _sub(domain, "cpu", mode="host-model", match="exact")
    _sub(cpu, "topology", sockets=str(guest.vcpus), cores="1", threads="1")


def domain_element(guest: GuestDescription, settings: LibvirtSettings) -> ET.Element:
    """The ``<domain type="kvm|qemu">`` element of ``guest``.

    Raises:
        UnsupportedGuest: ``virt_type`` is not kvm or qemu; a volume that is not RBD.
        InvalidGuest: a guest disk while ``images_type`` is not ``rbd``; only one of
            ``rbd_user`` / ``rbd_secret_uuid`` set; a malformed ``connection_info``.
    """
    _check_virt_type(settings)
    domain = ET.Element("domain", type=settings.virt_type)
    _head(domain, guest)
    _devices(domain, guest, settings)
    return domain


def _text(element: ET.Element) -> str:
    ET.indent(element)
    return ET.tostring(element, encoding="unicode") + "\n"


def domain_xml(guest: GuestDescription, settings: LibvirtSettings) -> str:
    """:func:`domain_element` as indented XML text (what ``virsh define`` takes).

    Raises:
        UnsupportedGuest, InvalidGuest: as :func:`domain_element`.
    """
    return _text(domain_element(guest, settings))


def disk_xml(disk: ImageDisk | AttachedVolume, settings: LibvirtSettings) -> str:
    """One ``<disk>`` element as XML text: what Nova hands ``attachDeviceFlags`` when a
    volume is attached to a running guest (no drive address: libvirt picks one).

    Raises:
        UnsupportedGuest, InvalidGuest: as :func:`domain_element`.
    """
    _check_virt_type(settings)
    return _text(_disk_element(disk, settings))
