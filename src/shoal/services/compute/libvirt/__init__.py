"""The libvirt side of compute: domain XML for RBD-backed guests and per-host secrets.

Public API::

    settings = LibvirtSettings.from_config(cfg.libvirt, cluster_monitors(session))
    guest = GuestDescription(uuid, "instance-00000001", memory_mib=2048, vcpus=1,
                             disks=(ImageDisk.of_server(uuid, "disk", "vda"),),
                             volumes=(AttachedVolume(volume_id, connection_info, "vdb"),))
    domain_xml(guest, settings)          # <domain type="kvm"> ... as Nova's libvirt driver
    disk_xml(volume, settings)           # one <disk>, for attaching to a running guest

    store = SecretStore(data_dir / "compute")
    store.define(host, secret_xml_text)  # virsh secret-define -> SecretDef (uuid)
    store.set_value(host, uuid, decode_base64(key))
    check_guest_secret(store, host, rbd_secret_uuid, key_of_rbd_user)   # before a guest starts

Errors are branches of :mod:`shoal.errors` (see :mod:`._errors`).
"""

from __future__ import annotations

from shoal.services.compute.libvirt._domxml import AttachedVolume as AttachedVolume
from shoal.services.compute.libvirt._domxml import GuestDescription as GuestDescription
from shoal.services.compute.libvirt._domxml import ImageDisk as ImageDisk
from shoal.services.compute.libvirt._domxml import LibvirtSettings as LibvirtSettings
from shoal.services.compute.libvirt._domxml import disk_xml as disk_xml
from shoal.services.compute.libvirt._domxml import domain_element as domain_element
from shoal.services.compute.libvirt._domxml import domain_xml as domain_xml
from shoal.services.compute.libvirt._errors import GuestSecretError as GuestSecretError
from shoal.services.compute.libvirt._errors import GuestSecretMismatch as GuestSecretMismatch
from shoal.services.compute.libvirt._errors import GuestSecretMissing as GuestSecretMissing
from shoal.services.compute.libvirt._errors import InvalidGuest as InvalidGuest
from shoal.services.compute.libvirt._errors import InvalidSecretValue as InvalidSecretValue
from shoal.services.compute.libvirt._errors import InvalidSecretXML as InvalidSecretXML
from shoal.services.compute.libvirt._errors import SecretConflict as SecretConflict
from shoal.services.compute.libvirt._errors import SecretNotFound as SecretNotFound
from shoal.services.compute.libvirt._errors import SecretPrivate as SecretPrivate
from shoal.services.compute.libvirt._errors import UnsupportedGuest as UnsupportedGuest
from shoal.services.compute.libvirt._monitors import MON_PORT_V1 as MON_PORT_V1
from shoal.services.compute.libvirt._monitors import MON_PORT_V2 as MON_PORT_V2
from shoal.services.compute.libvirt._monitors import Monitor as Monitor
from shoal.services.compute.libvirt._monitors import cluster_monitors as cluster_monitors
from shoal.services.compute.libvirt._monitors import (
    monitors_from_addresses as monitors_from_addresses,
)
from shoal.services.compute.libvirt._monitors import parse_mon_host as parse_mon_host
from shoal.services.compute.libvirt._secretdef import SecretDef as SecretDef
from shoal.services.compute.libvirt._secretdef import canonical_uuid as canonical_uuid
from shoal.services.compute.libvirt._secretdef import decode_base64 as decode_base64
from shoal.services.compute.libvirt._secretdef import parse_secret_xml as parse_secret_xml
from shoal.services.compute.libvirt._secretdef import secret_xml as secret_xml
from shoal.services.compute.libvirt._secrets import SecretStore as SecretStore
from shoal.services.compute.libvirt._secrets import check_guest_secret as check_guest_secret
from shoal.services.compute.libvirt._secrets import check_host_name as check_host_name

__all__ = [
    "MON_PORT_V1",
    "MON_PORT_V2",
    "AttachedVolume",
    "GuestDescription",
    "GuestSecretError",
    "GuestSecretMismatch",
    "GuestSecretMissing",
    "ImageDisk",
    "InvalidGuest",
    "InvalidSecretValue",
    "InvalidSecretXML",
    "LibvirtSettings",
    "Monitor",
    "SecretConflict",
    "SecretDef",
    "SecretNotFound",
    "SecretPrivate",
    "SecretStore",
    "UnsupportedGuest",
    "canonical_uuid",
    "check_guest_secret",
    "check_host_name",
    "cluster_monitors",
    "decode_base64",
    "disk_xml",
    "domain_element",
    "domain_xml",
    "monitors_from_addresses",
    "parse_mon_host",
    "parse_secret_xml",
    "secret_xml",
]
