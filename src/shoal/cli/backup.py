"""``shoal backup verify BACKUP_ID`` and ``shoal backup chain VOLUME_ID``: shoal's own
backup checks, asked of a running ``shoal up`` through its Block Storage API.

They log in as the admin that ``shoal up`` wrote into ``DATA_DIR/openrc`` (the ``OS_*``
variables of the environment win when ``OS_AUTH_URL`` is set there), find the
``block-storage`` endpoint in the token's catalog, and call
``POST /backups/{id}/shoal-verify`` or ``GET /backups/shoal-chain?volume_id=...``.

``verify`` exits 0 when the backup's stored data matches the SHA-256 recorded when it was
taken, 1 when it does not (the differing byte ranges are printed), and with the errno of
any other failure (no running ``shoal up``: ECONNREFUSED, 111). ``--json`` prints the
API's answer as it is.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx

from shoal.cli._common import GlobalOptions, exit_with, global_options
from shoal.cluster import default_data_dir

__all__ = ["backup"]

#: Seconds a check may take (it reads the whole restore point); the login's bound is short.
VERIFY_TIMEOUT_S = 3600.0
LOGIN_TIMEOUT_S = 30.0
_LOGIN_KEYS = ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME")


def _fail(message: str, status: int = errno.EIO) -> NoReturn:
    exit_with(f"shoal backup: error: {message}", status)


def _openrc(path: Path) -> dict[str, str]:
    """The ``export K=V`` lines of an ``openrc`` (as ``shoal up`` writes it: shell-quoted)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            values[key] = value
    return values


def _login_values(ctx: click.Context) -> dict[str, str]:
    if os.environ.get("OS_AUTH_URL"):
        found = dict(os.environ)
    else:
        opts = ctx.find_object(GlobalOptions)
        data_dir = opts.data_dir if opts is not None and opts.data_dir else default_data_dir()
        path = data_dir / "openrc"
        if not path.is_file():
            _fail(f"no {path}: start `shoal up` (it writes it) or set the OS_* variables",
                  errno.ENOENT)
        found = _openrc(path)
    missing = [k for k in _LOGIN_KEYS if not found.get(k)]
    if missing:
        _fail(f"the login lacks {', '.join(missing)}", errno.EINVAL)
    return found


@dataclass(frozen=True)
class _Api:
    """A logged-in Block Storage API: its project URL and token."""

    url: str
    token: str

    def call(self, method: str, path: str, *, timeout: float, **kwargs: Any) -> Any:
        try:
            reply = httpx.request(method, self.url + path, timeout=timeout,
                                  headers={"X-Auth-Token": self.token}, **kwargs)
        except httpx.HTTPError as exc:
            _fail(f"{method} {path}: {exc}", errno.ECONNREFUSED)
        body = _body(reply)
        if reply.status_code >= 400:
            _fail(f"{method} {path}: HTTP {reply.status_code}: {_error_text(body, reply)}",
                  errno.EINVAL if reply.status_code < 500 else errno.EIO)
        return body


def _body(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def _error_text(body: Any, reply: httpx.Response) -> str:
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
    return reply.text.strip()[:500]


def _login(ctx: click.Context) -> _Api:
    values = _login_values(ctx)
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": values["OS_USERNAME"], "password": values["OS_PASSWORD"],
        "domain": {"name": values.get("OS_USER_DOMAIN_NAME") or "Default"}}}},
        "scope": {"project": {"name": values["OS_PROJECT_NAME"], "domain": {
            "name": values.get("OS_PROJECT_DOMAIN_NAME") or "Default"}}}}
    url = values["OS_AUTH_URL"].rstrip("/")
    if not url.endswith("/v3"):
        url += "/v3"
    try:
        reply = httpx.post(f"{url}/auth/tokens", json={"auth": auth},
                           timeout=LOGIN_TIMEOUT_S)
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the identity service at {url} (is `shoal up` running?): {exc}",
              errno.ECONNREFUSED)
    if reply.status_code != 201:
        _fail(f"login as {values['OS_USERNAME']} refused: HTTP {reply.status_code}: "
              f"{_error_text(_body(reply), reply)}", errno.EACCES)
    catalog = (_body(reply) or {}).get("token", {}).get("catalog", [])
    interface = values.get("OS_INTERFACE") or "public"
    for service in catalog:
        if service.get("type") == "block-storage":
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == interface:
                    return _Api(str(endpoint["url"]).rstrip("/"),
                                reply.headers["X-Subject-Token"])
    _fail("the catalog lists no block-storage endpoint: this deployment serves no volumes",
          errno.ENOENT)


@click.group()
@global_options
def backup() -> None:
    """Check backups' stored data and show volumes' backup chains (shoal's own commands;
    they ask a running `shoal up`, as its admin)."""


@backup.command()
@click.argument("backup_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@global_options
@click.pass_context
def verify(ctx: click.Context, backup_id: str, as_json: bool) -> None:
    """Read BACKUP_ID's restore point in the backups pool and compare it with the SHA-256
    recorded when it was taken (nothing is restored). Exit 0 if it matches, 1 if not."""
    api = _login(ctx)
    found = api.call("POST", f"/backups/{backup_id}/shoal-verify",
                     timeout=VERIFY_TIMEOUT_S)["verification"]
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
    elif found["ok"]:
        click.echo(f"backup {backup_id}: OK: {found['size_bytes']} bytes of "
                   f"{found['location']} match sha256 {found['computed_sha256']} "
                   f"(verified at {found['verified_at']})")
    else:
        click.echo(f"backup {backup_id}: MISMATCH: {found['reason']}")
        click.echo(f"  recorded sha256: {found['recorded_sha256']}")
        click.echo(f"  stored data:     {found['computed_sha256']} ({found['size_bytes']} "
                   f"bytes of {found['location']})")
        for piece in found["differing"]:
            start, length = int(piece["offset"]), int(piece["length"])
            click.echo(f"  differs in bytes [{start}, {start + length})")
    if not found["ok"]:
        raise click.exceptions.Exit(1)


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"


@backup.command()
@click.argument("volume_id")
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@global_options
@click.pass_context
def chain(ctx: click.Context, volume_id: str, as_json: bool) -> None:
    """Print VOLUME_ID's backups as chains: each full backup, then the incrementals built
    on it (indented), with the bytes each stored and its restore point."""
    api = _login(ctx)
    found = api.call("GET", "/backups/shoal-chain", params={"volume_id": volume_id},
                     timeout=LOGIN_TIMEOUT_S)
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    links = found["backups"]
    if not links:
        click.echo(f"volume {volume_id} has no backups")
        return
    for link in links:
        kind = "incremental" if link["is_incremental"] else "full"
        name = f" ({link['name']})" if link["name"] else ""
        digest = (link["sha256"] or "-")[:16]
        click.echo(f"{'  ' * int(link['depth'])}{link['id']}{name}: {kind}, {link['status']}, "
                   f"{link['size']} GiB volume, {_size(int(link['data_bytes']))} stored, "
                   f"restore point {link['restore_point'] or '(base head)'}, "
                   f"sha256 {digest}, created {link['created_at']}"
                   + (f", verified {link['verified_at']}" if link["verified_at"] else ""))
