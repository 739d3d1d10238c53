"""Writing ``shoal.conf`` holding the guide's configuration.

The file carries every snippet of the two guides (Cinder's ``[DEFAULT]`` and
``[ceph]`` backend, the backup options, ``[glance_store]``, ceph.conf's
``[client]``, Nova's ``[libvirt]``) in the guides' own spelling, one
generated ``rbd_secret_uuid`` shared by ``[ceph]`` and ``[libvirt]``, a
``[shoal]`` section with generated passwords, and ``[keystone_authtoken]`` with
every line commented out (shoal's own identity service); every option keeps upstream's
built-in default when the line is removed. Each line is preceded by the
option's help and upstream default.
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from shoal import errors
from shoal.atomicfile import write_atomically
from shoal.config._option import BACKEND, Option
from shoal.config._registry import OPTIONS

__all__ = ["GUIDE_BACKEND", "default_text", "write_default"]

#: The Cinder backend section the guide names (``enabled_backends = ceph``).
GUIDE_BACKEND = "ceph"
_GUIDE_CEPH_CONF = "/etc/ceph/ceph.conf"

_HEADER = """\
# shoal.conf: the configuration of the Ceph/OpenStack guide, as shoal runs it.
# Sections take the guide's snippets verbatim (glance-api.conf [glance_store],
# cinder.conf [DEFAULT] and the [ceph] backend, nova.conf [libvirt], ceph.conf
# [client]) plus shoal's [shoal]. A removed line falls back to upstream's
# built-in default (shown above each option). `shoal config show` prints the
# effective values and where each came from.
"""


def _guide(secret_uuid: str, ceph_conf: str) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        ("DEFAULT", [
            ("enabled_backends", GUIDE_BACKEND),
            ("glance_api_version", "2"),
            ("backup_driver", "cinder.backup.drivers.ceph"),
            ("backup_ceph_user", "cinder-backup"),
            ("backup_ceph_conf", ceph_conf),
            ("backup_ceph_chunk_size", "134217728"),
            ("backup_ceph_pool", "backups"),
            ("backup_ceph_stripe_unit", "0"),
            ("backup_ceph_stripe_count", "0"),
            ("restore_discard_excess_bytes", "true"),
        ]),
        (GUIDE_BACKEND, [
            ("volume_driver", "cinder.volume.drivers.rbd.RBDDriver"),
            ("volume_backend_name", "ceph"),
            ("rbd_pool", "volumes"),
            ("rbd_ceph_conf", ceph_conf),
            ("rbd_flatten_volume_from_snapshot", "false"),
            ("rbd_max_clone_depth", "5"),
            ("rbd_store_chunk_size", "4"),
            ("rados_connect_timeout", "-1"),
            ("rbd_user", "cinder"),
            ("rbd_secret_uuid", secret_uuid),
        ]),
        ("glance_store", [
            ("show_image_direct_url", "True"),
            ("stores", "rbd"),
            ("default_store", "rbd"),
            ("rbd_store_chunk_size", "8"),
            ("rbd_store_pool", "images"),
            ("rbd_store_user", "glance"),
            ("rbd_store_ceph_conf", ceph_conf),
        ]),
        ("client", [
            ("rbd cache", "true"),
            ("rbd cache writethrough until flush", "true"),
            ("rbd concurrent management ops", "20"),
            ("admin socket", "/var/run/ceph/guests/$cluster-$type.$id.$pid.$cctid.asok"),
            ("log file", "/var/log/ceph/qemu-guest-$pid.log"),
        ]),
        ("libvirt", [
            ("images_type", "rbd"),
            ("images_rbd_pool", "vms"),
            ("images_rbd_ceph_conf", ceph_conf),
            ("rbd_user", "cinder"),
            ("rbd_secret_uuid", secret_uuid),
            ("inject_password", "false"),
            ("inject_key", "false"),
            ("inject_partition", "-2"),
            ("hw_disk_discard", "unmap"),
        ]),
    ]


def _option(section: str, written: str) -> Option:
    canonical = BACKEND if section == GUIDE_BACKEND else section
    name = written.replace(" ", "_")
    for opt in OPTIONS:
        if opt.section == canonical and opt.name == name:
            return opt
    raise AssertionError(f"guide option [{section}] {written} is not registered")


def _comment(opt: Option) -> str:
    default = opt.format(opt.default) if opt.default not in (None, "") else "unset"
    return f"# {opt.help} [upstream default: {default}]"


def default_text(*, secret_uuid: str | None = None, ceph_conf: str = _GUIDE_CEPH_CONF,
                 data_dir: str | None = None, admin_password: str | None = None,
                 demo_password: str | None = None) -> str:
    """The text of the guide's ``shoal.conf``.

    Args:
        secret_uuid: libvirt secret UUID of ``client.cinder``; None: a new uuid4.
        ceph_conf: the ceph.conf path every service reads (the guide's
            ``/etc/ceph/ceph.conf``; ``shoal up`` may pass its data directory's).
        data_dir: written as ``[shoal] data_dir`` when given.
        admin_password / demo_password: None: generated (URL-safe, 22 chars).

    Raises:
        ValueError: ``secret_uuid`` is not a UUID.
    """
    uid = str(uuid.UUID(secret_uuid)) if secret_uuid is not None else str(uuid.uuid4())
    parts = [_HEADER]
    for section, items in _guide(uid, ceph_conf):
        parts.append(f"\n[{section}]\n")
        for written, text in items:
            parts.append(f"{_comment(_option(section, written))}\n{written} = {text}\n")
    parts.append("\n[shoal]\n")
    shoal_values = {
        "backend": "embedded",
        "admin_password": admin_password or secrets.token_urlsafe(16),
        "demo_password": demo_password or secrets.token_urlsafe(16),
    }
    if data_dir is not None:
        shoal_values["data_dir"] = data_dir
    parts.extend(_section_lines("shoal", shoal_values))
    parts.append(f"\n[keystone_authtoken]\n{_AUTHTOKEN_NOTE}")
    parts.extend(_section_lines("keystone_authtoken", {}))
    return "".join(parts)


_AUTHTOKEN_NOTE = """\
# Unset auth_url: shoal's own identity service issues and checks the tokens. To have
# every API validate tokens against a real Keystone instead, set auth_url and the
# service user (username, password, project_name, user_domain_name, project_domain_name).
"""


def _section_lines(section: str, values: dict[str, str]) -> list[str]:
    """Each option of ``section``: its help, then ``name = value`` for ``values``, else
    the default commented out."""
    lines = []
    for opt in OPTIONS:
        if opt.section != section:
            continue
        lines.append(f"{_comment(opt)}\n")
        if opt.name in values:
            lines.append(f"{opt.name} = {values[opt.name]}\n")
        else:
            lines.append(f"# {opt.name} = {opt.format(opt.default)}\n")
    return lines


def write_default(path: str | os.PathLike[str], *, overwrite: bool = False,
                  secret_uuid: str | None = None, ceph_conf: str = _GUIDE_CEPH_CONF,
                  data_dir: str | None = None) -> Path:
    """Write :func:`default_text` to ``path`` atomically, mode 0600 (it holds
    passwords); return the path. Parent directories are created.

    Raises:
        errors.AlreadyExists: ``path`` exists and ``overwrite`` is false.
        errors.InvalidArgument: cannot write there, or a bad ``secret_uuid``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise errors.AlreadyExists(f"{target} exists (overwrite it with --force)")
    try:
        text = default_text(secret_uuid=secret_uuid, ceph_conf=ceph_conf, data_dir=data_dir)
    except ValueError:
        raise errors.InvalidArgument(f"rbd_secret_uuid {secret_uuid!r} is not a UUID") from None
    try:
        write_atomically(target, text, 0o600)
    except OSError as exc:
        raise errors.InvalidArgument(f"cannot write {target}: {exc}") from None
    return target
