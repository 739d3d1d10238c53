"""cephx secrets, entity names and keyring files.

A cephx secret as Ceph prints it (``CryptoKey`` encoded, then base64) is 28
bytes, all integers little-endian::

    u16 type      1 = AES (the only type accepted here)
    u32 sec       creation time, seconds since the epoch
    u32 nsec      creation time, nanoseconds
    u16 len       16
    16 bytes      the AES-128 key

which base64-encodes to 40 characters starting ``AQ`` and ending ``==``.

Keyring files are Ceph's plaintext format (``KeyRing::print`` writes it,
``KeyRing::decode_plaintext`` reads it with Ceph's ini parser)::

    [client.cinder]
    \tkey = AQ...==
    \tcaps mon = "allow r"
    \tcaps osd = "allow class-read object_prefix rbd_children, allow rwx pool=volumes"
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import struct
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shoal import errors

__all__ = [
    "ENTITY_TYPES",
    "KeyringEntry",
    "check_entity_name",
    "decode_secret",
    "format_keyring",
    "generate_secret",
    "parse_keyring",
]

CRYPTO_AES = 1
AES_KEY_LEN = 16
_HEADER = struct.Struct("<HIIH")  # type, sec, nsec, len
_SECRET_LEN = _HEADER.size + AES_KEY_LEN  # 28

ENTITY_TYPES: dict[str, int] = {"mon": 0x01, "mds": 0x02, "osd": 0x04, "client": 0x08, "mgr": 0x10}
"""Entity type -> Ceph's type code; keyrings list entities in code order, then by id."""

_ENTITY_ID = re.compile(r"[A-Za-z0-9_.:@+-]+")
_SERVICE = re.compile(r"[A-Za-z0-9_.-]+")


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------


def generate_secret(created: float | None = None) -> str:
    """Return a new random cephx AES secret, base64 as Ceph prints it (40 chars, ``AQ...==``).

    ``created`` (seconds since the epoch, default now) is stored in the
    secret's header; it must fit Ceph's u32 seconds.

    Raises:
        errors.InvalidArgument: ``created`` is negative or past 2106.
    """
    when = time.time() if created is None else created
    if not 0 <= when < 2**32:
        raise errors.InvalidArgument(f"secret creation time {when!r} is out of range")
    sec = int(when)
    nsec = min(int((when - sec) * 1e9), 999_999_999)
    raw = _HEADER.pack(CRYPTO_AES, sec, nsec, AES_KEY_LEN) + secrets.token_bytes(AES_KEY_LEN)
    return base64.b64encode(raw).decode("ascii")


def decode_secret(text: str) -> bytes:
    """Validate a base64 cephx secret and return its 16-byte AES key.

    Surrounding whitespace is ignored. The decoded form must be exactly 28
    bytes (Ceph tolerates trailing bytes; shoal does not), of type AES (1),
    with a key length of 16.

    Raises:
        errors.InvalidArgument: the text is not base64, or the decoded secret
            has the wrong size, type or key length.
    """
    raw = _b64decode(text.strip())
    if len(raw) != _SECRET_LEN:
        raise errors.InvalidArgument(
            f"bad cephx secret: decodes to {len(raw)} bytes, expected {_SECRET_LEN}"
        )
    key_type, _sec, _nsec, key_len = _HEADER.unpack_from(raw)
    if key_type != CRYPTO_AES:
        raise errors.InvalidArgument(
            f"bad cephx secret: key type {key_type} is not supported (only AES = 1)"
        )
    if key_len != AES_KEY_LEN:
        raise errors.InvalidArgument(
            f"bad cephx secret: key length {key_len}, expected {AES_KEY_LEN}"
        )
    return raw[_HEADER.size :]


def _b64decode(text: str) -> bytes:
    if not text:
        raise errors.InvalidArgument("bad cephx secret: empty")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidArgument(f"bad cephx secret: {text!r} is not valid base64") from None


# --------------------------------------------------------------------------
# entity names
# --------------------------------------------------------------------------


def check_entity_name(name: str) -> tuple[str, str]:
    """Split and validate ``TYPE.ID``: ``"client.cinder"`` -> ``("client", "cinder")``.

    TYPE is one of client, mon, osd, mds, mgr. The id is split at the first
    dot, so it may contain dots (``client.rgw.host``). Ceph accepts any id;
    shoal limits it to ``[A-Za-z0-9_.:@+-]`` so it round-trips through
    keyring files, and allows an empty id only for ``mon.`` (the monitors'
    shared key).

    Raises:
        errors.InvalidArgument: "bad entity name ..." otherwise.
    """
    entity_type, dot, entity_id = name.partition(".")
    if not dot or entity_type not in ENTITY_TYPES:
        raise errors.InvalidArgument(
            f"bad entity name {name!r}: expected TYPE.ID with TYPE one of "
            "client, mds, mgr, mon, osd"
        )
    if entity_id == "" and entity_type == "mon":
        return entity_type, entity_id
    if not _ENTITY_ID.fullmatch(entity_id):
        raise errors.InvalidArgument(
            f"bad entity name {name!r}: the id must be non-empty and use only "
            "letters, digits and _ . : @ + -"
        )
    return entity_type, entity_id


def _entity_sort_key(entity: str) -> tuple[int, str]:
    entity_type, _, entity_id = entity.partition(".")
    return ENTITY_TYPES[entity_type], entity_id


# --------------------------------------------------------------------------
# keyrings
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyringEntry:
    """One keyring section: an entity, its base64 secret and its caps.

    ``caps`` maps a service name (``mon``, ``osd``, ``mgr``, ``mds``...) to
    its caps string; it is copied into a read-only mapping. Construction
    validates the entity name and the secret; cap strings are not parsed
    (as in Ceph's keyring code) but may not contain line breaks.

    Raises:
        errors.InvalidArgument: on a bad entity, secret, service or cap string.
    """

    entity: str
    key: str
    caps: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_entity_name(self.entity)
        decode_secret(self.key)
        object.__setattr__(self, "key", self.key.strip())
        caps = dict(self.caps)
        for service, text in caps.items():
            _check_cap_line(self.entity, service, text)
        object.__setattr__(self, "caps", MappingProxyType(caps))

    def __hash__(self) -> int:
        return hash((self.entity, self.key, tuple(sorted(self.caps.items()))))


def _check_cap_line(entity: str, service: str, text: str) -> None:
    if not _SERVICE.fullmatch(service):
        raise errors.InvalidArgument(f"bad caps service name {service!r} for {entity}")
    if "\n" in text or "\r" in text:
        raise errors.InvalidArgument(f"caps {service} for {entity} contain a line break")


def format_keyring(entries: Iterable[KeyringEntry], with_caps: bool = True) -> str:
    """Render entries as Ceph's ``KeyRing::print`` does.

    Entities are ordered as Ceph's keyring map orders them (type mon, mds,
    osd, client, mgr; then id), a later entry for the same entity replaces an
    earlier one, caps are listed by service name, and ``"`` inside caps is
    written as ``\\"``. With ``with_caps=False`` only the key lines are
    written. No entries give "".
    """
    by_entity = {entry.entity: entry for entry in entries}
    lines: list[str] = []
    for entity in sorted(by_entity, key=_entity_sort_key):
        entry = by_entity[entity]
        lines.append(f"[{entity}]")
        lines.append(f"\tkey = {entry.key}")
        if with_caps:
            for service in sorted(entry.caps):
                escaped = entry.caps[service].replace('"', '\\"')
                lines.append(f'\tcaps {service} = "{escaped}"')
    return "".join(line + "\n" for line in lines)


def parse_keyring(text: str) -> list[KeyringEntry]:
    """Parse a plaintext keyring into entries, in file order.

    Accepts what Ceph's ini reader accepts in keyrings: ``[TYPE.ID]``
    headings; ``key = value`` lines with any spacing (or none) around ``=``;
    key names with ``_`` or runs of blanks for spaces (``caps_mon``,
    ``caps  mon``); values bare or in ``"..."``/``'...'``, with ``\\``
    escaping the next character; ``#`` and ``;`` comments (whole-line or after
    a value; a bare value ends at them); ``\\`` at line end continuing a line;
    ``auid`` lines (ignored); a ``[global]`` section (skipped). Repeated
    sections merge and a repeated key keeps its last value.

    Raises:
        errors.InvalidArgument: on a malformed line, a line outside any
            section, an unknown key, a bad entity name or secret, or a
            section without a ``key``.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for lineno, line in _logical_lines(text):
        heading, pair = _parse_line(line, lineno)
        if heading is not None:
            current = sections.setdefault(heading, {})
        elif pair is not None:
            if current is None:
                raise errors.InvalidArgument(
                    f"keyring line {lineno}: {pair[0]!r} is outside any [section]"
                )
            current[pair[0]] = pair[1]
    return [_section_entry(name, values) for name, values in sections.items() if name != "global"]


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Yield (first line number, line) with backslash-newline continuations joined."""
    pending = ""
    start = 1
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = lineno
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            pending += raw[:-1]
            continue
        yield start, pending + raw
        pending = ""
    if pending:
        yield start, pending


def _parse_line(line: str, lineno: int) -> tuple[str | None, tuple[str, str] | None]:
    """Parse one line into a section heading, a (key, value) pair, or neither."""
    body = line.strip()
    if not body or body[0] in "#;":
        return None, None
    if body.startswith("["):
        return _parse_heading(body, lineno), None
    key, eq, rest = body.partition("=")
    key = " ".join(key.replace("_", " ").split())
    if not eq or not key or "[" in key:
        raise errors.InvalidArgument(f"keyring line {lineno}: expected 'name = value': {line!r}")
    return None, (key, _parse_value(rest, lineno))


def _parse_heading(body: str, lineno: int) -> str:
    end = body.find("]")
    if end < 0:
        raise errors.InvalidArgument(f"keyring line {lineno}: unterminated section {body!r}")
    if _strip_comment(body[end + 1 :]).strip():
        raise errors.InvalidArgument(f"keyring line {lineno}: text after section {body!r}")
    name = body[1:end].strip()
    if not name:
        raise errors.InvalidArgument(f"keyring line {lineno}: empty section name")
    return name


def _parse_value(rest: str, lineno: int) -> str:
    """Decode a value: quoted (escapes, trailing comment allowed) or bare."""
    text = rest.strip()
    if text[:1] in ("'", '"'):
        value, tail = _unquote(text, lineno)
        if _strip_comment(tail).strip():
            raise errors.InvalidArgument(
                f"keyring line {lineno}: unexpected text after quoted value: {tail.strip()!r}"
            )
        return value
    return _unescape(_strip_comment(text)).strip()


def _unquote(text: str, lineno: int) -> tuple[str, str]:
    """Split ``"value" tail``; backslash escapes the next character."""
    quote, out, index = text[0], [], 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return "".join(out), text[index + 1 :]
        out.append(char)
        index += 1
    raise errors.InvalidArgument(f"keyring line {lineno}: unterminated quoted value")


def _strip_comment(text: str) -> str:
    """Cut a bare value at the first unescaped ``#`` or ``;``."""
    index = 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] in "#;":
            return text[:index]
        index += 1
    return text


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _section_entry(name: str, values: Mapping[str, str]) -> KeyringEntry:
    try:
        check_entity_name(name)
    except errors.InvalidArgument as exc:
        raise errors.InvalidArgument(f"keyring: {exc}") from None
    key: str | None = None
    caps: dict[str, str] = {}
    for field_name, value in values.items():
        if field_name == "key":
            key = value
        elif field_name.startswith("caps "):
            caps[field_name[5:]] = value
        elif field_name != "auid":
            raise errors.InvalidArgument(f"keyring [{name}]: unknown field {field_name!r}")
    if key is None:
        raise errors.InvalidArgument(f"keyring [{name}]: no key")
    try:
        return KeyringEntry(entity=name, key=key, caps=caps)
    except errors.InvalidArgument as exc:
        raise errors.InvalidArgument(f"keyring [{name}]: {exc}") from None
