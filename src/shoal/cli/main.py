"""The ``shoal`` command: ``shoal [global options] {ceph,rbd,config,up,backup} ...``.

The CLI only parses arguments and calls the layers below (:mod:`shoal.cluster`,
:mod:`shoal.rbd`, :mod:`shoal.deploy`); each command group lives in its own module
(:mod:`shoal.cli.ceph`, :mod:`shoal.cli.rbd`, :mod:`shoal.cli.config`, :mod:`shoal.cli.up`,
:mod:`shoal.cli.backup`).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from shoal import __version__
from shoal.cli._common import (
    AliasGroup,
    GlobalOptions,
    listed_global_options,
    note_global_options,
)
from shoal.cli.backup import backup
from shoal.cli.ceph import ceph
from shoal.cli.compute import compute
from shoal.cli.config import config
from shoal.cli.rbd import rbd
from shoal.cli.up import up
from shoal.cli.virsh import virsh

__all__ = ["cli", "main"]


@click.group(cls=AliasGroup, context_settings={"help_option_names": ["-h", "--help"]})
@listed_global_options
@click.version_option(__version__, prog_name="shoal")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """shoal: OpenStack-compatible block storage with Ceph RBD semantics.

    Runs an embedded Ceph-like cluster in a data directory (created on first
    use): ceph.conf, ceph.client.admin.keyring, mon/mon.db and the object
    store in osd/. The global options may also follow the command group or the
    command ('shoal rbd ls --id cinder').
    """
    ctx.ensure_object(GlobalOptions)


cli.add_command(ceph)
cli.add_command(rbd)
cli.add_command(config)
cli.add_command(up)
cli.add_command(backup)
cli.add_command(virsh)
cli.add_command(compute)
note_global_options(cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; exits with the command's status."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="shoal")


if __name__ == "__main__":
    main()
