"""``shoal rbd ...``: Ceph's ``rbd`` tool, one module per command family.

- this package: the ``rbd`` group and ``rbd pool init``;
- :mod:`.image` (create, rm, resize, rename, status), :mod:`.info` (info, ls),
  :mod:`.du`, :mod:`.snap` (``rbd snap ...``), :mod:`.clone` (clone, children,
  flatten), :mod:`.transfer` (export, import), :mod:`.diff` (export-diff,
  import-diff, diff), :mod:`.trash` (``rbd trash ...``);
- what they share: :mod:`._command` (:func:`~._command.rbd_command`, the preamble of
  every command: spec, session, pool or image, progress), :mod:`._common` (errors
  printed as ``rbd`` prints them, the session, pools and images), :mod:`._args`
  (specs and values as ``rbd`` parses them), :mod:`._fmt` (formatter output, tables,
  progress lines), :mod:`.stream` (diff streams in and out of images).

A command family is a module listed in :data:`RBD_COMMAND_MODULES` with a
``register(group)`` adding its commands (and their aliases) to the ``rbd`` group.

Errors print as ``rbd`` prints them (``rbd: error opening pool 'x': (2) No such
file or directory``) and exit with the errno, as ``rbd`` does.
"""

from __future__ import annotations

import importlib

import click

from shoal import errors
from shoal.cli._common import AliasGroup, GlobalOptions, global_options
from shoal.cli.rbd._common import DEFAULT_POOL, die, session, strerror
from shoal.cluster import rbd_pool_init

__all__ = ["RBD_COMMAND_MODULES", "rbd"]

#: Modules adding commands to the ``rbd`` group (each defines ``register(group)``).
RBD_COMMAND_MODULES: tuple[str, ...] = (
    "shoal.cli.rbd.image",
    "shoal.cli.rbd.info",
    "shoal.cli.rbd.du",
    "shoal.cli.rbd.snap",
    "shoal.cli.rbd.clone",
    "shoal.cli.rbd.transfer",
    "shoal.cli.rbd.diff",
    "shoal.cli.rbd.trash",
)


@click.group("rbd", cls=AliasGroup)
def rbd() -> None:
    """Ceph's `rbd` tool: images, snapshots, clones, export/import, trash."""


@rbd.group("pool", cls=AliasGroup)
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
    with session(obj) as sess:
        try:
            rbd_pool_init(sess, name, force=force)
        except errors.PoolNotFound as exc:
            die(f"error opening pool '{name}': {strerror(exc.errno)}", exc.errno)
        except errors.PermissionDenied as exc:
            if "already has an enabled application" in str(exc):
                die("pool already registered to a different application.", exc.errno)
            die(f"error registered application: {strerror(exc.errno)}", exc.errno)
        except errors.ShoalError as exc:
            die(f"error registered application: {strerror(exc.errno)}", exc.errno)


def _register_modules() -> None:
    for module_name in RBD_COMMAND_MODULES:
        importlib.import_module(module_name).register(rbd)


_register_modules()
