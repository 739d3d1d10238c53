"""The embedded monitor's command dispatcher.

:func:`execute` runs one command the way a Ceph monitor handles ``MMonCommand``:

1. decode the command (a dict or its JSON text); no ``prefix`` or an unknown one
   -> ``-EINVAL`` "command not known";
2. check the caller's mon caps for the command's (service, perms) from
   ``caps.MON_COMMAND_PERMS`` (falling back to the command table) ->
   ``-EACCES`` "access denied";
3. validate and convert the arguments against ``MonCommands.h``'s signature and
   the ``format`` (plain, json, json-pretty) -> ``-EINVAL`` with the reason;
4. run the handler; a :class:`~shoal.errors.ShoalError` it raises becomes
   ``(-errno, b"", message)``.

Handlers live in ``_mon_auth``, ``_mon_osd`` and ``_mon_status`` and register
themselves with :func:`handler`.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shoal import errors
from shoal.cluster._auth import EntityCaps
from shoal.cluster._base import MonCommand, MonResult
from shoal.cluster._commands import lookup, validate
from shoal.cluster._format import FORMATS, dump, is_json
from shoal.cluster._mondb import MonDB
from shoal.cluster.caps import MON_COMMAND_PERMS
from shoal.cluster.datadir import DataDir
from shoal.objstore import ObjectStore

__all__ = ["MonContext", "execute", "fail", "handler", "ok", "reply"]

Args = dict[str, Any]


@dataclass
class MonContext:
    """What a handler may use: the data directory, mon.db, the store, the request."""

    layout: DataDir
    db: MonDB
    entity: str
    fmt: str
    inbuf: bytes
    open_store: Callable[[], ObjectStore] = field(repr=False)

    @property
    def store(self) -> ObjectStore:
        """The object store (opened on first use by the session)."""
        return self.open_store()

    @property
    def json(self) -> bool:
        return is_json(self.fmt)


Handler = Callable[[MonContext, Args], MonResult]
_HANDLERS: dict[str, Handler] = {}


def handler(*prefixes: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of each of ``prefixes``."""

    def deco(fn: Handler) -> Handler:
        for prefix in prefixes:
            assert prefix not in _HANDLERS, f"mon command {prefix!r} registered twice"
            _HANDLERS[prefix] = fn
        return fn

    return deco


def ok(outbuf: bytes | str = b"", outs: str = "") -> MonResult:
    data = outbuf.encode() if isinstance(outbuf, str) else outbuf
    return MonResult(0, data, outs)


def fail(err: int, outs: str) -> MonResult:
    return MonResult(-err, b"", outs)


def reply(ctx: MonContext, value: object, plain: str | bytes, outs: str = "") -> MonResult:
    """``value`` in the requested JSON format, else the ``plain`` text."""
    return ok(dump(value, ctx.fmt) if ctx.json else plain, outs)


def handled_prefixes() -> frozenset[str]:
    _load_handlers()
    return frozenset(_HANDLERS)


def execute(
    cmd: MonCommand | str,
    caps: EntityCaps,
    make_context: Callable[[str], MonContext],
) -> MonResult:
    """Run one mon command for the entity ``caps`` belongs to (see the module doc)."""
    _load_handlers()
    try:
        parsed = _decode(cmd)
    except errors.InvalidArgument as exc:
        return fail(errno.EINVAL, str(exc))
    prefix = parsed.get("prefix")
    spec = lookup(prefix) if isinstance(prefix, str) else None
    if spec is None:
        return fail(errno.EINVAL, "command not known")
    perms = MON_COMMAND_PERMS.get(spec.prefix, (spec.service, spec.perms))
    if not caps.mon_allows(spec.prefix, perms, _string_args(parsed)):
        return fail(errno.EACCES, "access denied")
    fmt = parsed.get("format") or ""
    if fmt not in FORMATS:
        return fail(errno.EINVAL, f"unsupported format {fmt!r}; use plain, json or json-pretty")
    try:
        args = validate(spec, parsed)
        return _HANDLERS[spec.prefix](make_context(str(fmt)), args)
    except errors.ShoalError as exc:
        return fail(exc.errno, exc.message)


def _decode(cmd: MonCommand | str) -> Mapping[str, object]:
    if isinstance(cmd, str):
        try:
            decoded = json.loads(cmd)
        except ValueError as exc:
            raise errors.InvalidArgument(f"command is not valid JSON: {exc}") from None
        if not isinstance(decoded, dict):
            raise errors.InvalidArgument("command must be a JSON object")
        return decoded
    return cmd


def _string_args(cmd: Mapping[str, object]) -> dict[str, str]:
    """Arguments as strings, for ``allow command X with k=v`` constraints."""
    out: dict[str, str] = {}
    for key, value in cmd.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        elif value is not None:
            out[key] = str(value)
    return out


def _load_handlers() -> None:
    from shoal.cluster import _mon_auth, _mon_osd, _mon_status  # noqa: F401  (register)
