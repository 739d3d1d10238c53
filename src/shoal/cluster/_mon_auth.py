"""``auth ...`` mon commands, with Ceph's (AuthMonitor) replies.

Every mutation reads, checks and writes inside one ``mon.db`` write transaction,
so concurrent ``auth get-or-create`` calls from several processes agree on one key.

Where shoal differs from Ceph (on purpose): ``auth import`` checks every entry
before writing any (Ceph may import a prefix of the keyring before failing), and
``auth export <entity>`` reports "export <entity>" rather than echoing the key.
"""

from __future__ import annotations

import errno
import hmac
import sqlite3

from shoal import errors
from shoal.cluster import keys
from shoal.cluster._base import MonResult
from shoal.cluster._mon import Args, MonContext, fail, handler, ok, reply
from shoal.cluster._mondb import AuthEntity, MonDB
from shoal.cluster.caps import ceph_parse_error

__all__: list[str] = []


def _entity_name(args: Args) -> str:
    name = str(args["entity"])
    try:
        keys.check_entity_name(name)
    except errors.InvalidArgument:
        raise errors.InvalidArgument("bad entity name") from None
    return name


def _caps_pairs(args: Args) -> dict[str, str]:
    """``["mon", "allow r", "osd", "..."]`` -> ``{"mon": "allow r", ...}``, validated."""
    vector = [str(v) for v in args.get("caps") or []]
    if len(vector) % 2:
        raise errors.InvalidArgument("bad capabilities request; odd number of arguments")
    pairs = dict(zip(vector[::2], vector[1::2], strict=True))
    for service, text in pairs.items():
        message = ceph_parse_error(service, text)
        if message is not None:
            raise errors.BadCaps(message)  # Ceph's wording; validate_caps says more
    return pairs


def _as_json(entity: AuthEntity) -> dict[str, object]:
    return {"entity": entity.name, "key": entity.key, "caps": dict(entity.caps)}


def _keyring(entities: list[AuthEntity], with_caps: bool = True) -> str:
    entries = [keys.KeyringEntry(e.name, e.key, e.caps if with_caps else {}) for e in entities]
    return keys.format_keyring(entries, with_caps=with_caps)


def _sort_key(entity: AuthEntity) -> tuple[int, str]:
    kind, _, ident = entity.name.partition(".")
    return keys.ENTITY_TYPES.get(kind, 0xFF), ident


def _same_key(a: str, b: str) -> bool:
    return hmac.compare_digest(keys.decode_secret(a), keys.decode_secret(b))


# --- reads ----------------------------------------------------------------------


@handler("auth get")
def _get(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    found = ctx.db.get_entity(name)
    if found is None:
        return fail(errno.ENOENT, f"failed to find {name} in keyring")
    return reply(ctx, [_as_json(found)], _keyring([found]), f"exported keyring for {name}")


@handler("auth get-key", "auth print-key", "auth print_key")
def _get_key(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    found = ctx.db.get_entity(name)
    if found is None:
        return fail(errno.ENOENT, f"don't have {name}")
    return reply(ctx, {"key": found.key}, found.key)


@handler("auth ls", "auth list")
def _list(ctx: MonContext, args: Args) -> MonResult:
    entities = sorted(ctx.db.list_entities(), key=_sort_key)
    if ctx.json:
        return reply(ctx, {"auth_dump": [_as_json(e) for e in entities]}, "")
    lines: list[str] = []
    for entity in entities:
        lines.append(entity.name)
        lines.append(f"\tkey: {entity.key}")
        lines.extend(f"\tcaps: [{svc}] {text}" for svc, text in entity.caps.items())
    outs = "installed auth entries:\n" if entities else "no installed auth entries!\n"
    return ok("".join(line + "\n" for line in lines), outs)


@handler("auth export")
def _export(ctx: MonContext, args: Args) -> MonResult:
    if "entity" not in args:
        entities = sorted(ctx.db.list_entities(), key=_sort_key)
        plain = _keyring(entities)
        return reply(ctx, [_as_json(e) for e in entities], plain, "exported master keyring")
    name = _entity_name(args)
    found = ctx.db.get_entity(name)
    if found is None:
        return fail(errno.ENOENT, f"no key for {name}")
    # Ceph 16 prints the entity's EntityAuth here: "auth(key=...)"
    return reply(ctx, [_as_json(found)], _keyring([found]), f"export auth(key={found.key})")


# --- get-or-create ------------------------------------------------------------------


def _get_or_create(ctx: MonContext, name: str, wanted: dict[str, str]) -> AuthEntity:
    """The existing entity (whose caps must include ``wanted``) or a new one."""
    with ctx.db.write() as conn:
        found = MonDB.read_entity(conn, name)
        if found is None:
            created = AuthEntity(name, keys.generate_secret(), wanted)
            MonDB.put_entity(conn, created)
            return created
    for service, text in wanted.items():
        if found.caps.get(service) != text:
            raise errors.InvalidArgument(
                f"key for {name} exists but cap {service} does not match"
            )
    return found


@handler("auth get-or-create")
def _get_or_create_keyring(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    entity = _get_or_create(ctx, name, _caps_pairs(args))
    return reply(ctx, [_as_json(entity)], _keyring([entity], with_caps=False))


@handler("auth get-or-create-key")
def _get_or_create_key(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    entity = _get_or_create(ctx, name, _caps_pairs(args))
    return reply(ctx, {"key": entity.key}, entity.key)


# --- add / caps / rm / import ------------------------------------------------------


def _keyring_entry(inbuf: bytes, name: str) -> keys.KeyringEntry:
    try:
        entries = keys.parse_keyring(inbuf.decode("utf-8"))
    except (errors.InvalidArgument, UnicodeDecodeError) as exc:
        raise errors.InvalidArgument(f"error decoding keyring: {exc}") from None
    for entry in entries:
        if entry.entity == name:
            return entry
    raise errors.InvalidArgument(f"key for {name} not found in provided keyring")


def _check_matches(found: AuthEntity, key: str | None, caps: dict[str, str]) -> None:
    """Ceph's exists_and_matches_entity: same key (if given) and exactly the same caps."""
    if key is not None and not _same_key(found.key, key):
        raise errors.AlreadyExists(f"entity {found.name} exists but key does not match")
    if len(caps) != len(found.caps):
        raise errors.InvalidArgument(f"entity {found.name} exists but caps do not match")
    for service, text in caps.items():
        if found.caps.get(service) != text:
            raise errors.InvalidArgument(
                f"entity {found.name} exists but cap {service} does not match"
            )


@handler("auth add")
def _add(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    caps = _caps_pairs(args)
    key: str | None = None
    if ctx.inbuf:
        entry = _keyring_entry(ctx.inbuf, name)
        if caps and entry.caps:
            raise errors.InvalidArgument("caps cannot be specified both in keyring and in command")
        caps = caps or dict(entry.caps)
        key = entry.key
    with ctx.db.write() as conn:
        found = MonDB.read_entity(conn, name)
        if found is not None:
            _check_matches(found, key, caps)
            return ok()
        MonDB.put_entity(conn, AuthEntity(name, key or keys.generate_secret(), caps))
    return ok(outs=f"added key for {name}")


@handler("auth caps")
def _caps(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    with ctx.db.write() as conn:
        found = MonDB.read_entity(conn, name)
        if found is None:
            return fail(errno.ENOENT, f"couldn't find entry {name}")
        MonDB.put_entity(conn, AuthEntity(name, found.key, _caps_pairs(args)))
    return ok(outs=f"updated caps for {name}")


@handler("auth rm", "auth del")
def _remove(ctx: MonContext, args: Args) -> MonResult:
    name = _entity_name(args)
    with ctx.db.write() as conn:
        if not MonDB.delete_entity(conn, name):
            return ok(outs=f"entity {name} does not exist")
    return ok(outs="updated")


@handler("auth import")
def _import(ctx: MonContext, args: Args) -> MonResult:
    if not ctx.inbuf:
        return fail(errno.EINVAL, "auth import: no data supplied")
    try:
        entries = keys.parse_keyring(ctx.inbuf.decode("utf-8"))
    except (errors.InvalidArgument, UnicodeDecodeError) as exc:
        return fail(errno.EINVAL, f"error decoding keyring {exc}")
    if any(not entry.caps for entry in entries):
        return fail(errno.EINVAL, "auth import: no caps supplied")
    with ctx.db.write() as conn:
        _put_all(conn, entries)
    return ok(outs="imported keyring")


def _put_all(conn: sqlite3.Connection, entries: list[keys.KeyringEntry]) -> None:
    for entry in entries:
        MonDB.put_entity(conn, AuthEntity(entry.entity, entry.key, entry.caps))
