"""``shoal up``: serve Keystone v3, Glance v2, Cinder v3 and Nova v2.1 on 127.0.0.1.

On first start it creates the data directory, writes ``shoal.conf`` with the guide's
configuration, makes the guide's pools and cephx users (keyrings in the data directory),
the database, the admin and demo users, and writes ``clouds.yaml`` and ``openrc``; later
starts reuse all of it (see :mod:`shoal.deploy`). Prints the endpoints once every port
listens and runs until SIGINT or SIGTERM (exit status 0). Errors (an invalid option, a
port in use, another ``shoal up`` on the same data directory) print one line and exit
non-zero before anything listens.

Logging follows oslo.log's ``[DEFAULT]`` options of the configuration (``debug``,
``log_file``, ``log_dir``, ``use_stderr``; see :mod:`shoal.deploy._logging`), standard
error by default; ``--debug`` and ``--access-log`` switch on DEBUG and the one-line-per-
request access log (``[shoal] access_log``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.deploy import CLOUD_NAME, SERVICES, Endpoints, UpOptions, prepare

__all__ = ["up"]


def _ports(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or name not in SERVICES or not value.isdigit() or int(value) > 65535:
            raise click.BadParameter(
                f"want NAME=PORT with NAME one of {', '.join(SERVICES)} and PORT 0..65535 "
                f"(0: a free port), got {item!r}", param_hint="--port")
        out[name] = int(value)
    return out


def _announce(endpoints: Endpoints) -> None:
    out = [f"shoal is up ({endpoints.backend} backend, data directory {endpoints.data_dir})"]
    width = max(len(name) for name in endpoints.urls)
    out += [f"  {name.ljust(width)}  {url}" for name, url in endpoints.urls.items()]
    out += [
        f"configuration: {', '.join(str(p) for p in endpoints.config) or 'built-in defaults'}",
        f"clouds.yaml:   {endpoints.clouds_yaml}",
        f"openrc:        {endpoints.openrc}",
        "try:",
        f"  export OS_CLIENT_CONFIG_FILE={endpoints.clouds_yaml}",
        f"  openstack --os-cloud {CLOUD_NAME} token issue",
        "Stop with Ctrl-C (SIGINT) or SIGTERM.",
    ]
    click.echo("\n".join(out))
    sys.stdout.flush()


@click.command("up")
@global_options
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE",
              help="shoal.conf to read [default: $SHOAL_CONFIG, else DATA_DIR/shoal.conf, "
                   "written with the guide's configuration when missing].")
@click.option("--config-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Directory of the real glance-api.conf, cinder.conf, nova.conf, "
                   "ceph.conf (and shoal.conf).")
@click.option("--host", metavar="ADDR", help="Address to listen on [default: [shoal] host, "
                                              "127.0.0.1].")
@click.option("--port", "ports", multiple=True, metavar="NAME=PORT",
              help="Port of one service (identity, image, volume, compute); 0 picks a free "
                   "one. Repeatable [default: [shoal] NAME_port].")
@click.option("--debug", is_flag=True,
              help="Log at DEBUG [default: [DEFAULT] debug, else INFO].")
@click.option("--access-log", is_flag=True,
              help="Log one line per API request [default: [shoal] access_log, off].")
@click.pass_context
def up(ctx: click.Context, config_file: Path | None, config_dir: Path | None,
       host: str | None, ports: tuple[str, ...], debug: bool, access_log: bool) -> None:
    """Serve the OpenStack APIs (identity, image, volume, compute) until stopped."""
    opts = ctx.ensure_object(GlobalOptions)
    # Until the configuration says where the log goes (prepare sets that up).
    logging.basicConfig(level=logging.WARNING, format="shoal up: %(levelname)s %(message)s")
    options = UpOptions(data_dir=opts.data_dir, config_file=config_file,
                        config_dir=config_dir, backend=opts.backend, host=host,
                        ports=_ports(ports), debug=debug, access_log=access_log,
                        setup_logging=True)
    try:
        with prepare(options) as deployment:
            if deployment.config_written is not None:
                click.echo(f"wrote the guide's configuration to {deployment.config_written}")
            for note in deployment.provision.notes:
                click.echo(f"note: {note}", err=True)
            for warning in deployment.config.warnings:
                click.echo(f"warning: {warning}", err=True)
            deployment.serve(ready=_announce)
    except errors.ShoalError as exc:
        click.echo(f"shoal up: error: {exc.message}", err=True)
        raise click.exceptions.Exit(exc.errno or 1) from None
    click.echo("shoal stopped")
