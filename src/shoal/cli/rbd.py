"""``shoal rbd ...``: Ceph's ``rbd`` tool: ``rbd pool init`` here, the image,
snapshot, clone, export/import and trash commands in ``shoal.cli.rbd_*``.

More subcommands plug in as separate modules: list the module in
:data:`RBD_COMMAND_MODULES`; it must define ``register(group: click.Group) ->
None`` and add its commands (or sub-groups) to the ``rbd`` group there. Use
:func:`shoal.cli._common.global_options` on each command so ``--id``,
``--keyring`` etc. are accepted after it, as ``rbd`` accepts them, and
:func:`rbd_session` / :func:`fail` for the connection and ``rbd: ...`` errors.

Errors print as ``rbd`` prints them (``rbd: error opening pool 'x': (2) No such
file or directory``) and exit with the errno, as ``rbd`` does.
"""

from __future__ import annotations

import importlib
import os
from typing import NoReturn

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cluster import Session, rbd_pool_init
from shoal.cluster.backend import open_session

__all__ = ["RBD_COMMAND_MODULES", "fail", "rbd", "rbd_session"]

#: Modules adding commands to the ``rbd`` group (each defines ``register(group)``).
RBD_COMMAND_MODULES: tuple[str, ...] = (
    "shoal.cli.rbd_image",
    "shoal.cli.rbd_info",
    "shoal.cli.rbd_du",
    "shoal.cli.rbd_snap",
    "shoal.cli.rbd_clone",
    "shoal.cli.rbd_io",
    "shoal.cli.rbd_diff",
    "shoal.cli.rbd_trash",
)
#: ``rbd_default_pool``.
DEFAULT_POOL = "rbd"


def strerror(exc: errors.ShoalError) -> str:
    """Ceph's ``cpp_strerror``: ``(2) No such file or directory``."""
    return f"({exc.errno}) {os.strerror(exc.errno)}"


def fail(message: str, status: int = 1) -> NoReturn:
    """Print ``rbd: message`` on stderr and exit with ``status``."""
    click.echo(f"rbd: {message}", err=True)
    raise click.exceptions.Exit(status)


def rbd_session(opts: GlobalOptions) -> Session:
    """Connect as the selected entity, or exit like ``rbd`` when that fails."""
    try:
        return open_session(opts.backend_config())
    except errors.ShoalError as exc:
        click.echo(f"rbd: {exc}", err=True)
        fail("couldn't connect to the cluster!", exc.errno)


@click.group("rbd")
def rbd() -> None:
    """Ceph's `rbd` tool: images, snapshots, clones, export/import, trash."""


@rbd.group("pool")
def pool() -> None:
    """Pool commands."""


@pool.command("init")
@click.argument("pool_name", metavar="POOL", required=False)
@click.option("-p", "--pool", "pool_option", metavar="POOL", help="Pool name (same as POOL).")
@click.option("--force", is_flag=True,
              help="Initialise even if another application is enabled on the pool.")
@global_options
@click.pass_obj
def init(obj: GlobalOptions, pool_name: str | None, pool_option: str | None, force: bool) -> None:
    """Initialize pool for use by RBD (enable the rbd application, validate rbd_info)."""
    name = pool_name or pool_option or DEFAULT_POOL
    with rbd_session(obj) as session:
        try:
            rbd_pool_init(session, name, force=force)
        except errors.PoolNotFound as exc:
            fail(f"error opening pool '{name}': {strerror(exc)}", exc.errno)
        except errors.PermissionDenied as exc:
            if "already has an enabled application" in str(exc):
                fail("pool already registered to a different application.", exc.errno)
            fail(f"error registered application: {strerror(exc)}", exc.errno)
        except errors.ShoalError as exc:
            fail(f"error registered application: {strerror(exc)}", exc.errno)


def _register_modules() -> None:
    for module_name in RBD_COMMAND_MODULES:
        importlib.import_module(module_name).register(rbd)


_register_modules()
