"""``shoal compute domxml SERVER``: the libvirt domain XML of a server of a deployment.

It reads what ``shoal up`` serves from its data directory (``--data-dir``, global):
the configuration (``--config FILE``, else ``--config-dir DIR``, else ``$SHOAL_CONFIG``,
else ``DATA_DIR/shoal.conf`` when it exists, else built-in defaults, as ``shoal config
show``), the database (``[shoal] database_url``, else ``DATA_DIR/shoal.db``), the server's
row and its volume mappings, their attachments' ``connection_info``, and the cluster's
monitors (``mon dump``, as Nova asks them) as ``[libvirt] rbd_user`` (``--id``/``--name``
and ``--keyring`` choose another entity; ``[shoal] backend = ceph`` reads
``images_rbd_ceph_conf``). ``shoal up`` need not be running.

SERVER is a server's id or name (of any project; deleted servers are not shown). The XML
goes to stdout; an unknown server, an ambiguous name or anything else that fails prints
one ``shoal compute: error: ...`` line on stderr and exits with status 1.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import click

from shoal import config as shoal_config
from shoal import errors
from shoal.cli._common import GlobalOptions, exit_with, global_options
from shoal.cluster import BackendConfig, default_data_dir, open_session
from shoal.cluster.datadir import ADMIN_ENTITY
from shoal.config import ShoalConfig
from shoal.db import DB_FILENAME, Database, default_url
from shoal.services.compute._domains import guest_description, server_guest
from shoal.services.compute.libvirt import LibvirtSettings, cluster_monitors, domain_xml

__all__ = ["compute"]

_ENV_CONFIG = "SHOAL_CONFIG"


def _fail(message: str) -> NoReturn:
    exit_with(f"shoal compute: error: {message}", 1)


def _config(data_dir: Path, config_file: Path | None, config_dir: Path | None) -> ShoalConfig:
    if config_file is None and config_dir is None:
        env = os.environ.get(_ENV_CONFIG)
        candidate = data_dir / shoal_config.CONFIG_FILE_NAME
        config_file = Path(env) if env else candidate if candidate.exists() else None
    return shoal_config.load_config(file=config_file, directory=config_dir)


def _database(cfg: ShoalConfig, data_dir: Path) -> Database:
    if cfg.shoal.database_url:
        return Database(cfg.shoal.database_url)
    if not (data_dir / DB_FILENAME).is_file():
        raise errors.NotFound(f"{data_dir} holds no deployment (no {DB_FILENAME}): start "
                              f"`shoal up --data-dir {data_dir}` first")
    return Database(default_url(data_dir))


def _backend(opts: GlobalOptions, cfg: ShoalConfig, data_dir: Path) -> BackendConfig:
    """The deployment's cluster as ``--name``/``--id``, else ``client.<rbd_user>``."""
    user = cfg.libvirt.rbd_user
    entity = opts.name or (f"client.{user}" if user else ADMIN_ENTITY)
    if (opts.backend or cfg.shoal.backend) == "ceph":
        conf = opts.conf or Path(cfg.libvirt.images_rbd_ceph_conf or cfg.shoal.ceph_conf)
        return BackendConfig(backend="ceph", ceph_conf=conf, name=entity,
                             keyring=opts.keyring)
    return BackendConfig(backend="embedded", data_dir=data_dir, name=entity,
                         keyring=opts.keyring)


@click.group("compute")
def compute() -> None:
    """shoal's compute hosts: what the libvirt side of a server looks like."""


@compute.command("domxml", short_help="Print a server's libvirt domain XML.")
@click.argument("server")
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE",
              help="shoal.conf to read [default: $SHOAL_CONFIG, else DATA_DIR/shoal.conf].")
@click.option("--config-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Directory of the real glance-api.conf, cinder.conf, nova.conf, "
                   "ceph.conf (and shoal.conf).")
@global_options
@click.pass_context
def domxml(ctx: click.Context, server: str, config_file: Path | None,
           config_dir: Path | None) -> None:
    """Print the domain XML Nova's libvirt driver would define for SERVER (an id or a
    name): its RBD disks, its attached volumes, the monitors and the cephx secret."""
    opts = ctx.ensure_object(GlobalOptions)
    try:
        data_dir = opts.data_dir or default_data_dir()
        cfg = _config(data_dir, config_file, config_dir)
        db = _database(cfg, data_dir)
        try:
            found, connections = server_guest(db, server)
        finally:
            db.dispose()
        guest = guest_description(found, connections)
        with open_session(_backend(opts, cfg, data_dir)) as session:
            settings = LibvirtSettings.from_config(cfg.libvirt, cluster_monitors(session))
        click.echo(domain_xml(guest, settings), nl=False)
    except errors.ShoalError as exc:
        _fail(exc.message)
