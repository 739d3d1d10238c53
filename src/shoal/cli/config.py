"""``shoal config show`` and ``shoal config write-default``.

``show`` prints the effective configuration and where each value came from
(``default``, ``FILE:LINE [section] name`` or ``env VAR``), as INI-like text
or JSON; warnings (unknown options, old spellings) go to stderr. The file is
``--config FILE``, else ``--config-dir DIR`` (the real glance-api.conf,
cinder.conf, nova.conf, ceph.conf), else ``$SHOAL_CONFIG``, else
``DATA_DIR/shoal.conf`` when it exists, else built-in defaults only. The text
fits the output's width (:func:`~shoal.cli._common.output_width`): each
``name = value`` has its ``# source`` beside it in one column, or on the lines
before it when both do not fit; a value longer than the line is wrapped at its
spaces and commas onto indented continuation lines (which INI readers join to
the value).
An invalid value exits with status EINVAL (22) and a message naming the
option, section, file and line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from shoal import config as shoal_config
from shoal import errors
from shoal.cli._common import GlobalOptions, exit_with, output_width, wrap_text
from shoal.cluster import default_data_dir

__all__ = ["config"]

_ENV_CONFIG = "SHOAL_CONFIG"


def _data_dir(ctx: click.Context) -> Path:
    opts = ctx.find_object(GlobalOptions)
    if opts is not None and opts.data_dir is not None:
        return opts.data_dir
    return default_data_dir()


def _fail(exc: errors.ShoalError) -> NoReturn:
    exit_with(f"shoal config: error: {exc.message}", exc.errno)


#: Indentation of a value's continuation lines.
_VALUE_INDENT = 4


def _text_blocks(rows: Sequence[tuple[str, str]], width: int) -> list[list[str]]:
    """The lines of each ``name = value`` row with its ``# source``, within ``width``.

    The comments share one column, right of the longest row that takes at most half
    the width; a row that does not leave room for its comment there gets it two spaces
    after it, or else on the lines before it (wrapped, ``#`` on each line), the row
    itself wrapped at its spaces and commas onto lines indented by :data:`_VALUE_INDENT`.
    """
    short = [len(text) for text, _ in rows if len(text) <= width // 2]
    column = max(short, default=0)
    blocks: list[list[str]] = []
    for text, source in rows:
        comment = f"# {source}"
        if len(text) <= column and column + 2 + len(comment) <= width:
            blocks.append([f"{text.ljust(column)}  {comment}"])
        elif len(text) + 2 + len(comment) <= width:
            blocks.append([f"{text}  {comment}"])
        else:
            blocks.append([f"# {line}" for line in wrap_text(source, width - 2)]
                          + wrap_text(text, width, indent=_VALUE_INDENT, breaks=" ,"))
    return blocks


@click.group("config")
def config() -> None:
    """shoal's configuration: the guide's glance/cinder/nova/ceph options."""


@config.command("show")
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE",
              help="shoal.conf to read [default: $SHOAL_CONFIG, else DATA_DIR/shoal.conf].")
@click.option("--config-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Directory of glance-api.conf, cinder.conf, nova.conf, ceph.conf "
                   "(and shoal.conf).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--changed", is_flag=True, help="Only options not at their built-in default.")
@click.option("--show-secrets", is_flag=True, help="Print passwords and database URLs.")
@click.pass_context
def show(ctx: click.Context, config_file: Path | None, config_dir: Path | None, fmt: str,
         changed: bool, show_secrets: bool) -> None:
    """Print the effective configuration and where each value came from."""
    if config_file is None and config_dir is None:
        env = os.environ.get(_ENV_CONFIG)
        if env:
            config_file = Path(env)
        else:
            candidate = _data_dir(ctx) / shoal_config.CONFIG_FILE_NAME
            config_file = candidate if candidate.exists() else None
    try:
        cfg = shoal_config.load_config(file=config_file, directory=config_dir)
    except errors.ShoalError as exc:
        _fail(exc)
    for warning in cfg.warnings:
        click.echo(f"warning: {warning}", err=True)
    settings = [s for s in cfg.settings if not changed or s.source.kind != "default"]
    if fmt == "json":
        doc = cfg.to_json(show_secrets=show_secrets)
        if changed:
            doc["options"] = [o for o in doc["options"]  # type: ignore[attr-defined]
                              if o["source"]["kind"] != "default"]
        click.echo(json.dumps(doc, indent=2))
        return
    sources = ", ".join(str(p) for p in cfg.sources) or "none (built-in defaults)"
    width = output_width()
    click.echo("\n# ".join(wrap_text(f"# configuration files: {sources}", width - 2)))
    rows = [(f"{s.name} = {s.display_value(show_secrets=show_secrets)}", str(s.source))
            for s in settings]
    section = None
    for s, block in zip(settings, _text_blocks(rows, width), strict=True):
        if s.section != section:
            section = s.section
            click.echo(f"\n[{section}]")
        click.echo("\n".join(block))


@config.command("write-default")
@click.option("--config", "config_file", type=click.Path(path_type=Path), metavar="FILE",
              help="Where to write [default: DATA_DIR/shoal.conf].")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--secret-uuid", metavar="UUID",
              help="libvirt secret UUID for rbd_secret_uuid [default: a new one].")
@click.option("--ceph-conf", default="/etc/ceph/ceph.conf", show_default=True, metavar="PATH",
              help="ceph.conf path the services read.")
@click.pass_context
def write_default(ctx: click.Context, config_file: Path | None, force: bool,
                  secret_uuid: str | None, ceph_conf: str) -> None:
    """Write shoal.conf holding the guide's configuration; print its path."""
    target = config_file or _data_dir(ctx) / shoal_config.CONFIG_FILE_NAME
    try:
        path = shoal_config.write_default(target, overwrite=force, secret_uuid=secret_uuid,
                                          ceph_conf=ceph_conf)
    except errors.ShoalError as exc:
        _fail(exc)
    click.echo(str(path))
