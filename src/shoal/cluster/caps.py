"""cephx capability strings: parsing, validation and permission checks.

This module implements the capability ("caps") languages of Ceph's daemons as
shoal's embedded monitor and OSD enforce them:

* :func:`parse_osd_caps` -> :class:`OsdCaps` (Ceph's ``OSDCap``),
* :func:`parse_mon_caps` -> :class:`MonCaps` (Ceph's ``MonCap``),
* :func:`validate_caps` for any service, including ``mgr`` and ``mds`` whose
  grammars are checked but not enforced here.

Parsing is a hand-written recursive descent over a character scanner, so error
messages can name the offending token and its 0-based position. The grammars
follow Ceph's (including its quirks, noted where they matter); shoal is only
more lenient where noted.

OSD caps grammar (``,`` or ``;`` separate grants)::

    grant   := "allow" spec match [network] | "allow" match spec [network]
             | "profile" ("=" | ws) NAME [pool] [namespace] [network]
    spec    := "*" | "all" | [r][w][x] [class-read] [class-write]
             | "class" NAME [METHOD]
    match   := tag | namespace tag | [pool] [namespace] [object_prefix]
    pool    := "pool" ("=" | ws) STR
    namespace := "namespace" ("=" | ws) ESTR ["*"]
    object_prefix := "object_prefix" ws STR
    tag     := "tag" ws APP ws KEY [ws] "=" [ws] VALUE     (KEY/VALUE may be * or all)
    network := "network" ws CIDR

``STR`` is a quoted string (``"..."`` or ``'...'``, not empty, no escapes) or a
word of ``[A-Za-z0-9_./-]``; ``ESTR`` may also be an empty quoted string.

Mon caps grammar::

    grant := "allow" ws rwxa [network]
           | ["allow" ws] "profile" ("=" | ws) NAME [network]
           | "allow" ws "service" ("=" | ws) NAME ws rwxa [network]
           | "allow" ws "command" ("=" | ws) STR [ws "with" ws KV (ws KV)*] [network]
    rwxa  := "*" | "all" | [r][w][x]
    KV    := STR "=" STR | STR ws "prefix" ws STR | STR ws "regex" ws STR

Deliberate simplifications, all documented on the functions concerned:
``network`` clauses are parsed and stored but never restrict a match (shoal
has no client address at check time); an empty or all-whitespace caps string
parses to "no grants" (it allows nothing).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Generic, Protocol, TypeVar

from shoal import errors

__all__ = [
    "MON_COMMAND_PERMS",
    "OSD_CLASS_READ",
    "OSD_CLASS_WRITE",
    "OSD_R",
    "OSD_W",
    "OSD_X",
    "MonArgConstraint",
    "MonCaps",
    "MonGrant",
    "OsdAccess",
    "OsdCaps",
    "OsdGrant",
    "OsdMatch",
    "OsdPoolTag",
    "ceph_parse_error",
    "parse_mon_caps",
    "parse_osd_caps",
    "validate_caps",
]

# --------------------------------------------------------------------------
# permission bits
# --------------------------------------------------------------------------

OSD_R = 0x02
"""Object reads."""
OSD_W = 0x04
"""Object writes."""
OSD_CLASS_READ = 0x08
"""Calls of object-class methods flagged RD."""
OSD_CLASS_WRITE = 0x10
"""Calls of object-class methods flagged WR."""
OSD_X = OSD_CLASS_READ | OSD_CLASS_WRITE
"""``x``: class-read plus class-write."""
OSD_ANY = 0xFF
"""``*``: everything, including classes not on the OSD allow-list."""

MON_R = 0x02
MON_W = 0x04
MON_X = 0x08
MON_ALL = MON_R | MON_W | MON_X
MON_ANY = 0xFF

AppMetadata = Mapping[str, Mapping[str, str]]
"""Pool application metadata: application -> {key: value}."""

_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_./-")
_NETWORK_CHARS = frozenset("/.:[]" + string.hexdigits)
_QUOTES = "\"'"
_SEPARATORS = ",;"


# --------------------------------------------------------------------------
# scanner
# --------------------------------------------------------------------------


class _Scanner:
    """A cursor over a caps string with the lexical helpers the parsers share.

    Positions are 0-based character offsets into ``text``. Every error is a
    :class:`errors.BadCaps` naming the token found at the failing position.
    """

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text
        self.pos = 0

    # -- inspection -------------------------------------------------------

    def eof(self) -> bool:
        return self.pos >= len(self.text)

    def char(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _run_at(self, pos: int, chars: frozenset[str]) -> str:
        end = pos
        while end < len(self.text) and self.text[end] in chars:
            end += 1
        return self.text[pos:end]

    def word(self) -> str:
        """The unquoted word at the cursor ('' if none), without consuming it."""
        return self._run_at(self.pos, _WORD_CHARS)

    def peek_word(self) -> str:
        """The word after any whitespace, without consuming anything."""
        pos = self.pos
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        return self._run_at(pos, _WORD_CHARS)

    def at_grant_end(self) -> bool:
        """Whether only whitespace separates the cursor from a separator or the end."""
        pos = self.pos
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        return pos >= len(self.text) or self.text[pos] in _SEPARATORS

    # -- consumption ------------------------------------------------------

    def skip_ws(self) -> bool:
        start = self.pos
        while not self.eof() and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos > start

    def take(self, literal: str) -> bool:
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def take_word(self) -> str:
        found = self.word()
        self.pos += len(found)
        return found

    def take_keyword(self, keyword: str) -> bool:
        """Consume ``keyword`` (after whitespace) if it is the next whole word."""
        if self.peek_word() != keyword:
            return False
        self.skip_ws()
        self.pos += len(keyword)
        return True

    def take_run(self, chars: frozenset[str]) -> str:
        found = self._run_at(self.pos, chars)
        self.pos += len(found)
        return found

    def at_quote(self) -> bool:
        return self.char() != "" and self.char() in _QUOTES

    def quoted(self, *, allow_empty: bool) -> str | None:
        """Consume a ``"..."`` or ``'...'`` string at the cursor; None if absent."""
        if not self.at_quote():
            return None
        quote = self.char()
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise self.fail("unterminated quoted string")
        value = self.text[self.pos + 1 : end]
        if not value and not allow_empty:
            raise self.fail("empty quoted string is not allowed here")
        self.pos = end + 1
        return value

    def string(self, what: str, *, allow_empty: bool = False) -> str:
        """Consume a quoted string or an unquoted word; fail naming ``what``."""
        value = self.quoted(allow_empty=allow_empty)
        if value is not None:
            return value
        value = self.take_word()
        if not value:
            raise self.fail(f"expected {what}")
        return value

    def gap(self, after: str, *, allow_equals: bool) -> None:
        """Consume the separator after a keyword: ``=`` (if allowed) or whitespace.

        As in Ceph, ``=`` must be followed directly by the value and a
        whitespace gap must not contain ``=``.
        """
        if allow_equals and self.take("="):
            return
        if not self.skip_ws():
            expected = "'=' or a space" if allow_equals else "a space"
            raise self.fail(f"expected {expected} after {after!r}")

    def require_ws(self, after: str) -> None:
        if not self.skip_ws():
            raise self.fail(f"expected a space after {after!r}")

    # -- errors -----------------------------------------------------------

    def token_at(self, pos: int) -> str:
        """The token starting at ``pos`` ('' at the end), for error messages."""
        if pos >= len(self.text):
            return ""
        if self.text[pos].isspace() or self.text[pos] in _SEPARATORS:
            return self.text[pos]
        end = pos + 1
        while end < len(self.text) and not (
            self.text[end].isspace() or self.text[end] in _SEPARATORS
        ):
            end += 1
        return self.text[pos:end]

    def fail(self, what: str, pos: int | None = None) -> errors.BadCaps:
        where = self.pos if pos is None else pos
        token = self.token_at(where)
        found = f"at {token!r}" if token else "at end of input"
        return errors.BadCaps(
            f"{self.kind} caps parse failed at position {where} ({found}): {what}; "
            f"caps were {self.text!r}"
        )


_T = TypeVar("_T")


def _parse_grants(sc: _Scanner, parse_grant: Callable[[_Scanner], _T]) -> tuple[_T, ...]:
    """Parse ``grant (sep grant)*`` where sep is ``,`` or ``;``.

    An empty or all-whitespace string yields no grants. A trailing separator
    ("allow r,") is an error, as in Ceph.
    """
    grants: list[_T] = []
    sc.skip_ws()
    if sc.eof():
        return ()
    while True:
        grants.append(parse_grant(sc))
        sc.skip_ws()
        if sc.eof():
            return tuple(grants)
        if sc.char() not in _SEPARATORS:
            raise sc.fail(f"unexpected {sc.token_at(sc.pos)!r}; expected ',' or ';' or the end")
        sc.pos += 1
        sc.skip_ws()
        if sc.eof() or sc.char() in _SEPARATORS:
            raise sc.fail("expected a grant after the separator")


def _parse_network(sc: _Scanner) -> str | None:
    """Parse an optional ``network CIDR`` clause (stored, never enforced)."""
    if not sc.take_keyword("network"):
        return None
    sc.require_ws("network")
    value = sc.take_run(_NETWORK_CHARS)
    if not value:
        raise sc.fail("expected an address/prefix after 'network'")
    return value


def _head_error(sc: _Scanner, start: int, expected: str = "'allow' or 'profile'") -> errors.BadCaps:
    """The error for a grant that does not start with ``expected`` (the word at ``start``)."""
    return sc.fail(f"expected {expected}, got {sc.token_at(start)!r}", start)


def _rwx_mask(word: str, bits: Mapping[str, int]) -> int:
    """The permission mask of an ``[r][w][x]`` word, each letter's bit taken from ``bits``."""
    perms = 0
    for letter in word:
        perms |= bits[letter]
    return perms


class _Grant(Protocol):
    def is_allow_all(self) -> bool: ...


_G = TypeVar("_G", bound=_Grant)


@dataclass(frozen=True)
class _ParsedCaps(Generic[_G]):
    """A parsed caps string: ``text`` as given, ``grants`` in order."""

    text: str
    grants: tuple[_G, ...] = ()

    def __str__(self) -> str:
        return self.text

    @property
    def allow_all(self) -> bool:
        """True if some grant is an unrestricted ``allow *`` (or ``allow all``)."""
        return any(g.is_allow_all() for g in self.grants)


# --------------------------------------------------------------------------
# OSD caps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class OsdPoolTag:
    """``tag <application> <key>=<value>``; key and value may be ``*``."""

    application: str
    key: str
    value: str

    def matches(self, app_metadata: AppMetadata) -> bool:
        """Whether a pool with this application metadata matches (Ceph's rules).

        The pool must have ``application`` enabled; then ``*=*`` matches any
        pool with it, ``*=V`` any key with value V, ``K=*`` any value of K, and
        ``K=V`` exactly.
        """
        kv = app_metadata.get(self.application)
        if kv is None:
            return False
        if self.key == "*":
            return self.value == "*" or self.value in kv.values()
        if self.key not in kv:
            return False
        return self.value == "*" or kv[self.key] == self.value


@dataclass(frozen=True)
class OsdMatch:
    """Which objects a grant covers.

    ``pool`` None matches every pool. ``namespace`` None matches every
    namespace; ``""`` only the default namespace; a trailing ``*`` makes it a
    prefix match (``"*"`` alone matches all). ``object_prefix`` "" matches all
    object names. A ``tag`` requires pool application metadata to match.
    """

    pool: str | None = None
    namespace: str | None = None
    object_prefix: str = ""
    tag: OsdPoolTag | None = None

    def matches(self, pool: str, namespace: str, oid: str, app_metadata: AppMetadata) -> bool:
        if self.pool is not None and self.pool != pool:
            return False
        if self.namespace is not None and not _namespace_matches(self.namespace, namespace):
            return False
        if self.tag is not None and not self.tag.matches(app_metadata):
            return False
        return oid.startswith(self.object_prefix)

    def is_match_all(self) -> bool:
        return (
            self.pool is None
            and self.namespace is None
            and not self.object_prefix
            and self.tag is None
        )


def _namespace_matches(pattern: str, namespace: str) -> bool:
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return pattern == namespace


@dataclass(frozen=True)
class OsdAccess:
    """What one object operation needs from the OSD caps.

    ``read``/``write``: the op reads / writes object data (Ceph's
    ``op_may_read``/``op_may_write``). A class-method call gives ``cls``/``method``
    and ``class_read``/``class_write`` from the method's RD/WR flags; a plain
    ``CALL`` needs no ``r``/``w`` (in Ceph the call opcode is not a read op).
    """

    read: bool = False
    write: bool = False
    class_read: bool = False
    class_write: bool = False
    cls: str | None = None
    method: str | None = None

    @property
    def is_class_call(self) -> bool:
        return self.cls is not None or self.class_read or self.class_write


@dataclass(frozen=True)
class _OsdRequest:
    pool: str
    namespace: str
    oid: str
    access: OsdAccess
    app_metadata: AppMetadata


@dataclass(frozen=True)
class OsdGrant:
    """One OSD grant: ``allow`` (match + perms or class spec) or a ``profile``.

    ``perms`` is a mask of ``OSD_R``/``OSD_W``/``OSD_CLASS_READ``/
    ``OSD_CLASS_WRITE`` (``0xFF`` for ``*``). ``cls``/``method`` hold a
    ``class NAME [METHOD]`` spec. A profile grant keeps its name, its pool and
    namespace in ``match`` and the grants it expands to in ``expanded``.
    """

    match: OsdMatch = field(default_factory=OsdMatch)
    perms: int = 0
    cls: str | None = None
    method: str | None = None
    network: str | None = None
    profile: str | None = None
    expanded: tuple[OsdGrant, ...] = ()

    def is_allow_all(self) -> bool:
        if self.profile is not None:
            return any(g.is_allow_all() for g in self.expanded)
        return self.match.is_match_all() and self.perms == OSD_ANY

    def _is_capable(self, req: _OsdRequest) -> bool:
        """Ceph's per-grant check (``OSDCapGrant::is_capable``).

        The grant must match the object and by itself cover the read and
        write needs; a class call is then covered by ``*``, a matching
        ``class`` spec, or class-read/class-write bits for the method's flags.
        """
        if self.profile is not None:
            return any(g._is_capable(req) for g in self.expanded)
        if not self.match.matches(req.pool, req.namespace, req.oid, req.app_metadata):
            return False
        need = req.access
        if (need.read and not self.perms & OSD_R) or (need.write and not self.perms & OSD_W):
            return False
        if not need.is_class_call or self.perms == OSD_ANY:
            return True
        if self.cls is not None and need.cls == self.cls and self.method in (None, need.method):
            return True
        if need.class_read and not self.perms & OSD_CLASS_READ:
            return False
        return not (need.class_write and not self.perms & OSD_CLASS_WRITE)


@dataclass(frozen=True)
class OsdCaps(_ParsedCaps[OsdGrant]):
    """Parsed OSD caps. ``text`` is the string as given; ``grants`` in order."""

    def allows(
        self,
        pool: str,
        namespace: str,
        oid: str,
        *,
        read: bool = False,
        write: bool = False,
        class_read: bool = False,
        class_write: bool = False,
        cls: str | None = None,
        method: str | None = None,
        app_metadata: AppMetadata | None = None,
    ) -> bool:
        """Whether an op on ``pool``/``namespace``/``oid`` needing the access the
        keywords describe (see :class:`OsdAccess`) is permitted; see :meth:`allows_access`."""
        access = OsdAccess(read, write, class_read, class_write, cls, method)
        return self.allows_access(pool, namespace, oid, access, app_metadata)

    def allows_access(
        self,
        pool: str,
        namespace: str,
        oid: str,
        access: OsdAccess,
        app_metadata: AppMetadata | None = None,
    ) -> bool:
        """Whether an op on ``pool``/``namespace``/``oid`` needing ``access`` is permitted.

        Ceph's semantics, which this follows exactly: the op is allowed if
        *one* grant matches the object and itself covers both ``read`` and
        ``write`` and, for a class call, either is ``*``, is a matching
        ``class NAME [METHOD]`` spec, or carries class-read/class-write for the
        method's flags. Grants are not unioned for r/w: ``allow r, allow w``
        does not permit an op that both reads and writes. (Ceph pools
        class-permission across grants only for ops calling several classes;
        an op here calls at most one.) Every class is assumed to be on the
        OSD class allow-list. ``tag`` grants match only when
        ``app_metadata`` (pool application -> {key: value}) satisfies them;
        with None they match nothing. ``network`` clauses are not enforced.
        """
        if access.method == "":
            access = replace(access, method=None)
        req = _OsdRequest(pool, namespace, oid, access, app_metadata or {})
        return any(g._is_capable(req) for g in self.grants)


def parse_osd_caps(text: str) -> OsdCaps:
    """Parse an OSD caps string (see the module docstring for the grammar).

    Accepted profiles and their expansion (as Ceph's ``OSDCapGrant``):

    * ``read-only``: ``r`` on the profile's pool/namespace;
    * ``read-write``: ``rw`` there;
    * ``rbd``: ``r`` on ``rbd_info`` and class-read on ``rbd_children`` and
      ``rbd_mirroring`` in every pool, ``class rbd metadata_list`` on
      ``rbd_info`` in the pool's default namespace, ``rwx`` on the pool;
    * ``rbd-read-only``: the ``metadata_list`` grant, ``r class-read`` on the
      pool, and ``class rbd child_attach``/``child_detach`` on
      ``rbd_header.*`` there (so v2 clones of its images can be made).

    Other profile names parse but grant nothing, as in Ceph (e.g.
    ``simple-rados-client`` is a mon-only profile). Ceph quirks kept: ``r``,
    ``w``, ``x`` must appear in that order and ``class-read`` before
    ``class-write``; ``object_prefix`` takes no ``=``; ``osd`` caps take
    ``profile`` without ``allow``.

    Raises:
        errors.BadCaps: naming the bad token and its 0-based position.
    """
    sc = _Scanner("osd", text)
    return OsdCaps(text=text, grants=_parse_grants(sc, _parse_osd_grant))


def _parse_osd_grant(sc: _Scanner) -> OsdGrant:
    start = sc.pos
    head = sc.take_word()
    if head == "allow":
        return _parse_osd_allow(sc)
    if head == "profile":
        return _parse_osd_profile(sc)
    raise _head_error(sc, start)


def _parse_osd_allow(sc: _Scanner) -> OsdGrant:
    if _osd_spec_follows(sc):
        perms, cls, method = _parse_osd_spec(sc)
        match = _parse_osd_match(sc)
    else:
        match = _parse_osd_match(sc)
        perms, cls, method = _parse_osd_spec(sc)
    network = _parse_network(sc)
    return OsdGrant(match=match, perms=perms, cls=cls, method=method, network=network)


def _osd_spec_follows(sc: _Scanner) -> bool:
    saved = sc.pos
    sc.skip_ws()
    first = "*" if sc.char() == "*" else sc.word()
    sc.pos = saved
    return first in ("*", "all", "class", "class-read", "class-write") or _is_rwx(first)


def _is_rwx(word: str) -> bool:
    return bool(word) and re.fullmatch("r?w?x?", word) is not None


_OSD_RWX_BITS = {"r": OSD_R, "w": OSD_W, "x": OSD_X}
_SPEC_HELP = (
    "expected a permission spec: '*', a combination of r, w, x (in that order), "
    "class-read, class-write or 'class NAME [METHOD]'"
)


def _parse_osd_spec(sc: _Scanner) -> tuple[int, str | None, str | None]:
    """Parse ``* | all | [r][w][x] [class-read] [class-write] | class NAME [METHOD]``."""
    sc.skip_ws()
    if sc.take("*"):
        return OSD_ANY, None, None
    start = sc.pos
    word = sc.word()
    if word == "all":
        sc.take_word()
        return OSD_ANY, None, None
    if word == "class":
        sc.take_word()
        return _parse_osd_class_spec(sc)
    perms = 0
    if _is_rwx(word):
        sc.take_word()
        perms = _rwx_mask(word, _OSD_RWX_BITS)
    if sc.take_keyword("class-read"):
        perms |= OSD_CLASS_READ
    if sc.take_keyword("class-write"):
        perms |= OSD_CLASS_WRITE
    if sc.pos == start:
        raise sc.fail(_osd_bad_spec_message(sc, start), start)
    return perms, None, None


def _osd_bad_spec_message(sc: _Scanner, pos: int) -> str:
    token = sc.token_at(pos)
    if not token:
        return f"missing permission spec; {_SPEC_HELP}"
    if token.startswith("profile"):
        return f"invalid permission spec {token!r}; osd caps take 'profile NAME' without 'allow'"
    return f"invalid permission spec {token!r}; {_SPEC_HELP}"


_OSD_CLAUSE_WORDS = frozenset({"pool", "namespace", "object_prefix", "tag", "network"})


def _parse_osd_class_spec(sc: _Scanner) -> tuple[int, str | None, str | None]:
    """Parse ``NAME [METHOD]`` after ``class``.

    As in Ceph, any string after the class name is the method name, so
    ``allow class rbd pool=x`` cannot work; that case gets a clear error
    telling to put the match first (``allow pool x class rbd``).
    """
    sc.require_ws("class")
    name = sc.string("a class name after 'class'")
    saved = sc.pos
    if sc.at_grant_end() or not sc.skip_ws():
        sc.pos = saved
        return 0, name, None
    method_pos = sc.pos
    if not sc.at_quote() and sc.word() in _OSD_CLAUSE_WORDS:
        keyword = sc.take_word()
        if not sc.at_grant_end():
            raise sc.fail(
                f"{keyword!r} after 'class {name}' would be read as the "
                "method name; put the match before the class spec, e.g. "
                f"'allow pool P class {name} [METHOD]'",
                method_pos,
            )
        sc.pos = method_pos
    if not sc.word() and not sc.at_quote():
        sc.pos = saved
        return 0, name, None
    return 0, name, sc.string("a method name")


def _parse_osd_match(sc: _Scanner) -> OsdMatch:
    """Parse ``tag | namespace tag | [pool] [namespace] [object_prefix]``."""
    if sc.peek_word() == "tag":
        return OsdMatch(tag=_parse_osd_tag(sc))
    pool = _parse_pool(sc)
    namespace = _parse_namespace(sc)
    if pool is None and namespace is not None and sc.peek_word() == "tag":
        return OsdMatch(namespace=namespace, tag=_parse_osd_tag(sc))
    return OsdMatch(pool=pool, namespace=namespace, object_prefix=_parse_object_prefix(sc))


def _parse_pool(sc: _Scanner) -> str | None:
    if not sc.take_keyword("pool"):
        return None
    sc.gap("pool", allow_equals=True)
    return sc.string("a pool name after 'pool'")


def _parse_namespace(sc: _Scanner) -> str | None:
    if not sc.take_keyword("namespace"):
        return None
    sc.gap("namespace", allow_equals=True)
    if sc.char() == "*":
        # Ceph's grammar needs a word before the '*'; shoal also accepts a bare
        # '*' (prefix "" = every namespace).
        sc.pos += 1
        return "*"
    value = sc.string("a namespace after 'namespace'", allow_empty=True)
    if sc.take("*"):
        value += "*"
    return value


def _parse_object_prefix(sc: _Scanner) -> str:
    if not sc.take_keyword("object_prefix"):
        return ""
    sc.require_ws("object_prefix")
    return sc.string("an object name prefix after 'object_prefix'")


def _parse_osd_tag(sc: _Scanner) -> OsdPoolTag:
    sc.take_keyword("tag")
    sc.require_ws("tag")
    application = sc.string("an application name after 'tag'")
    sc.require_ws(application)
    key = _tag_atom(sc, "a metadata key")
    sc.skip_ws()
    if not sc.take("="):
        raise sc.fail(f"expected '=' after tag key {key!r}")
    sc.skip_ws()
    return OsdPoolTag(application, key, _tag_atom(sc, "a metadata value"))


def _tag_atom(sc: _Scanner, what: str) -> str:
    if sc.take("*"):
        return "*"
    value = sc.string(what)
    return "*" if value == "all" else value


def _parse_osd_profile(sc: _Scanner) -> OsdGrant:
    sc.gap("profile", allow_equals=True)
    name = sc.string("a profile name after 'profile'")
    pool = _parse_pool(sc)
    namespace = _parse_namespace(sc)
    network = _parse_network(sc)
    match = OsdMatch(pool=pool, namespace=namespace)
    return OsdGrant(
        match=match, network=network, profile=name, expanded=_osd_profile_grants(name, match)
    )


def _osd_profile_grants(name: str, where: OsdMatch) -> tuple[OsdGrant, ...]:
    """Expand an OSD profile the way Ceph's ``OSDCapGrant::expand_profile`` does."""
    rbd_info_here = OsdMatch(pool=where.pool, namespace="", object_prefix="rbd_info")
    header_here = OsdMatch(pool=where.pool, namespace=where.namespace, object_prefix="rbd_header.")
    if name == "read-only":
        return (OsdGrant(match=where, perms=OSD_R),)
    if name == "read-write":
        return (OsdGrant(match=where, perms=OSD_R | OSD_W),)
    if name == "rbd":
        return (
            OsdGrant(match=OsdMatch(object_prefix="rbd_info"), perms=OSD_R),
            OsdGrant(match=OsdMatch(object_prefix="rbd_children"), perms=OSD_CLASS_READ),
            OsdGrant(match=OsdMatch(object_prefix="rbd_mirroring"), perms=OSD_CLASS_READ),
            OsdGrant(match=rbd_info_here, cls="rbd", method="metadata_list"),
            OsdGrant(match=where, perms=OSD_R | OSD_W | OSD_X),
        )
    if name == "rbd-read-only":
        return (
            OsdGrant(match=rbd_info_here, cls="rbd", method="metadata_list"),
            OsdGrant(match=where, perms=OSD_R | OSD_CLASS_READ),
            OsdGrant(match=header_here, cls="rbd", method="child_attach"),
            OsdGrant(match=header_here, cls="rbd", method="child_detach"),
        )
    return ()


# --------------------------------------------------------------------------
# Mon caps
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MonArgConstraint:
    """A ``with`` constraint on a command argument: ``k=v``, ``k prefix v``, ``k regex v``.

    Regexes must match the whole value (Ceph uses POSIX extended regexes;
    Python's ``re`` is used here, which agrees on the common subset). An
    invalid regex matches nothing.
    """

    kind: str  # "equal" | "prefix" | "regex"
    value: str

    def matches(self, actual: str) -> bool:
        if self.kind == "equal":
            return actual == self.value
        if self.kind == "prefix":
            return actual.startswith(self.value)
        try:
            return re.fullmatch(self.value, actual) is not None
        except re.error:
            return False


@dataclass(frozen=True)
class MonGrant:
    """One mon grant.

    Exactly one of: plain ``allow <perms>`` (``perms`` only), ``service``
    (+ ``perms``), ``command`` (+ ``command_args``), or ``profile`` (with the
    grants it expands to in ``expanded``). ``perms`` is a mask of
    ``MON_R``/``MON_W``/``MON_X`` (``0xFF`` for ``*``).
    """

    perms: int = 0
    service: str | None = None
    command: str | None = None
    command_args: tuple[tuple[str, MonArgConstraint], ...] = ()
    profile: str | None = None
    network: str | None = None
    expanded: tuple[MonGrant, ...] = ()

    def is_allow_all(self) -> bool:
        return (
            self.perms == MON_ANY
            and self.service is None
            and self.command is None
            and self.profile is None
        )

    def allowed(self, service: str, command: str, args: Mapping[str, str]) -> int:
        """The permission bits this grant gives for ``command`` on ``service``.

        A profile gives the union of its grants; a service grant its perms on
        that service only; a command grant all of r/w/x when the command and
        every argument constraint match (a constrained argument must be
        present); a plain grant its perms on every service except
        ``config-key``, which only ``allow *`` opens.
        """
        if self.profile is not None:
            bits = 0
            for grant in self.expanded:
                bits |= grant.allowed(service, command, args)
            return bits
        if self.service is not None:
            return self.perms if self.service == service else 0
        if self.command is not None:
            return MON_ALL if self._command_matches(command, args) else 0
        return 0 if service == "config-key" else self.perms

    def _command_matches(self, command: str, args: Mapping[str, str]) -> bool:
        if command != self.command:
            return False
        return all(
            name in args and constraint.matches(args[name])
            for name, constraint in self.command_args
        )


MON_COMMAND_PERMS: dict[str, tuple[str, str]] = {
    # auth (AuthMonitor)
    "auth add": ("auth", "rwx"),
    "auth caps": ("auth", "rwx"),
    "auth del": ("auth", "rwx"),
    "auth export": ("auth", "rx"),
    "auth get": ("auth", "rx"),
    "auth get-key": ("auth", "rx"),
    "auth get-or-create": ("auth", "rwx"),
    "auth get-or-create-key": ("auth", "rwx"),
    "auth import": ("auth", "rwx"),
    "auth list": ("auth", "rx"),
    "auth ls": ("auth", "rx"),
    "auth print-key": ("auth", "rx"),
    "auth print_key": ("auth", "rx"),
    "auth rm": ("auth", "rwx"),
    "auth rotate": ("auth", "rwx"),
    # monitor
    "df": ("mon", "r"),
    "fsid": ("mon", "r"),
    "health": ("mon", "r"),
    "mon dump": ("mon", "r"),
    "mon getmap": ("mon", "r"),
    "mon stat": ("mon", "r"),
    "quorum_status": ("mon", "r"),
    "status": ("mon", "r"),
    "versions": ("mon", "r"),
    # osd map and pools (OSDMonitor; "osd pool stats" is a mgr command, "osd" "r")
    "osd blacklist": ("osd", "rw"),
    "osd blacklist clear": ("osd", "rw"),
    "osd blacklist ls": ("osd", "r"),
    "osd blocklist": ("osd", "rw"),
    "osd blocklist clear": ("osd", "rw"),
    "osd blocklist ls": ("osd", "r"),
    "osd dump": ("osd", "r"),
    "osd getmap": ("osd", "r"),
    "osd ls": ("osd", "r"),
    "osd lspools": ("osd", "r"),
    "osd map": ("osd", "r"),
    "osd pool application disable": ("osd", "rw"),
    "osd pool application enable": ("osd", "rw"),
    "osd pool application get": ("osd", "r"),
    "osd pool application rm": ("osd", "rw"),
    "osd pool application set": ("osd", "rw"),
    "osd pool create": ("osd", "rw"),
    "osd pool delete": ("osd", "rw"),
    "osd pool get": ("osd", "r"),
    "osd pool get-quota": ("osd", "r"),
    "osd pool ls": ("osd", "r"),
    "osd pool mksnap": ("osd", "rw"),
    "osd pool rename": ("osd", "rw"),
    "osd pool rm": ("osd", "rw"),
    "osd pool rmsnap": ("osd", "rw"),
    "osd pool set": ("osd", "rw"),
    "osd pool set-quota": ("osd", "rw"),
    "osd pool stats": ("osd", "r"),
    "osd stat": ("osd", "r"),
    "osd tree": ("osd", "r"),
    # config (ConfigMonitor, KVMonitor)
    "config dump": ("mon", "r"),
    "config get": ("config", "r"),
    "config help": ("config", "r"),
    "config ls": ("config", "r"),
    "config rm": ("config", "rw"),
    "config set": ("config", "rw"),
    "config-key exists": ("config-key", "r"),
    "config-key get": ("config-key", "r"),
    "config-key ls": ("config-key", "r"),
    "config-key rm": ("config-key", "rw"),
    "config-key set": ("config-key", "rw"),
    # mgr (MgrMonitor)
    "mgr dump": ("mgr", "r"),
    "mgr module ls": ("mgr", "r"),
    "mgr services": ("mgr", "r"),
    "mgr stat": ("mgr", "r"),
}
"""Mon command prefix -> (service, required perms), from Ceph's ``MonCommands.h``."""


@dataclass(frozen=True)
class MonCaps(_ParsedCaps[MonGrant]):
    """Parsed mon caps. ``text`` is the string as given; ``grants`` in order."""

    def allows(
        self,
        service: str,
        command: str,
        *,
        read: bool = False,
        write: bool = False,
        execute: bool = False,
        args: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether the mon command ``command`` needing these perms on ``service`` is allowed.

        ``service`` is the command's module ("mon", "osd", "auth", "config",
        "config-key", "mgr", "pg", ...), ``command`` its prefix (e.g.
        ``"osd pool create"``), ``args`` its arguments for ``with``
        constraints (e.g. ``{"blocklistop": "add", "addr": "1.2.3.4:0/5"}``);
        a constrained argument that is absent fails its constraint. As in
        Ceph's ``MonCap::is_capable``, permissions are unioned across grants
        and any ``allow *`` grant allows everything. ``network`` clauses are
        not enforced. Daemon profiles (``osd``, ``mds``, ``mgr``, ``mon``)
        lack the per-daemon ``config-key daemon-private/<name>/`` grants, which
        need the entity name.
        """
        need = (MON_R if read else 0) | (MON_W if write else 0) | (MON_X if execute else 0)
        given = 0
        for grant in self.grants:
            if grant.is_allow_all():
                return True
            given |= grant.allowed(service, command, args or {})
            if given & need == need:
                return True
        return False

    def allows_command(self, prefix: str, args: Mapping[str, str] | None = None) -> bool:
        """Check a command by prefix using :data:`MON_COMMAND_PERMS`.

        Raises:
            errors.InvalidArgument: if ``prefix`` is not in the table.
        """
        try:
            service, perms = MON_COMMAND_PERMS[prefix]
        except KeyError:
            raise errors.InvalidArgument(f"unknown mon command {prefix!r}") from None
        return self.allows_perms(service, prefix, perms, args)

    def allows_perms(
        self, service: str, command: str, perms: str, args: Mapping[str, str] | None = None
    ) -> bool:
        """:meth:`allows` with the needed permissions spelled as in
        :data:`MON_COMMAND_PERMS` (``perms`` holds any of ``r``, ``w``, ``x``)."""
        return self.allows(
            service, command, read="r" in perms, write="w" in perms, execute="x" in perms,
            args=args,
        )


def parse_mon_caps(text: str) -> MonCaps:
    """Parse a mon caps string (see the module docstring for the grammar).

    Profiles expand as Ceph's ``MonCapGrant::expand_profile_mon``:
    ``read-only`` (r), ``read-write`` (rw), ``rbd``/``rbd-mirror`` (r on mon,
    osd, pg + ``osd blocklist``/``osd blacklist`` ``add`` of an
    ``addr/nonce``; rbd-mirror also ``config-key get`` under
    ``rbd/mirror/``), ``simple-rados-client[-with-blocklist]``, ``fs-client``,
    ``osd``, ``mds``, ``mgr``, ``mon``, ``bootstrap-*``, ``crash``,
    ``role-definer``. Unknown profile names parse and grant nothing.

    Raises:
        errors.BadCaps: naming the bad token and its 0-based position.
    """
    sc = _Scanner("mon", text)
    return MonCaps(text=text, grants=_parse_grants(sc, _parse_mon_grant))


def _parse_mon_grant(sc: _Scanner) -> MonGrant:
    start = sc.pos
    head = sc.take_word()
    if head == "profile":
        return _parse_mon_profile(sc)
    if head != "allow":
        raise _head_error(sc, start)
    sc.require_ws("allow")
    kind = sc.word()
    if kind == "profile":
        sc.take_word()
        return _parse_mon_profile(sc)
    if kind == "service":
        sc.take_word()
        return _parse_mon_service(sc)
    if kind == "command":
        sc.take_word()
        return _parse_mon_command(sc)
    return MonGrant(perms=_parse_mon_rwxa(sc), network=_parse_network(sc))


_MON_RWX_BITS = {"r": MON_R, "w": MON_W, "x": MON_X}


def _parse_mon_rwxa(sc: _Scanner) -> int:
    """Parse ``* | all | [r][w][x]`` at the cursor (also used for mgr caps)."""
    if sc.take("*"):
        return MON_ANY
    start = sc.pos
    word = sc.word()
    if word == "all":
        sc.take_word()
        return MON_ANY
    if not _is_rwx(word):
        token = sc.token_at(start)
        what = f"invalid permission {token!r}" if token else "expected permissions"
        raise sc.fail(f"{what}; expected '*', 'all' or a combination of r, w, x", start)
    sc.take_word()
    return _rwx_mask(word, _MON_RWX_BITS)


def _parse_mon_profile(sc: _Scanner) -> MonGrant:
    sc.gap("profile", allow_equals=True)
    name = sc.string("a profile name after 'profile'")
    return MonGrant(profile=name, network=_parse_network(sc), expanded=_mon_profile_grants(name))


def _parse_mon_service(sc: _Scanner) -> MonGrant:
    sc.gap("service", allow_equals=True)
    name = sc.string("a service name after 'service'")
    sc.require_ws(name)
    perms = _parse_mon_rwxa(sc)
    return MonGrant(perms=perms, service=name, network=_parse_network(sc))


def _parse_mon_command(sc: _Scanner) -> MonGrant:
    sc.gap("command", allow_equals=True)
    command = sc.string("a command after 'command' (quote commands with spaces)")
    args: tuple[tuple[str, MonArgConstraint], ...] = ()
    if sc.take_keyword("with"):
        sc.require_ws("with")
        args = _parse_kv_list(sc)
    return MonGrant(command=command, command_args=args, network=_parse_network(sc))


def _parse_kv_list(sc: _Scanner) -> tuple[tuple[str, MonArgConstraint], ...]:
    """Parse ``KV (ws KV)*``; at least one pair is required."""
    first = _try_parse_kv(sc)
    if first is None:
        raise sc.fail("expected KEY=VALUE, 'KEY prefix VALUE' or 'KEY regex VALUE'")
    pairs = [first]
    while True:
        saved = sc.pos
        if not sc.skip_ws():
            break
        pair = _try_parse_kv(sc)
        if pair is None:
            sc.pos = saved
            break
        pairs.append(pair)
    return tuple(pairs)


def _try_parse_kv(sc: _Scanner) -> tuple[str, MonArgConstraint] | None:
    """Parse one constraint at the cursor, or restore the cursor and return None."""
    saved = sc.pos
    key = sc.quoted(allow_empty=False) or sc.take_word()
    if key in ("", "network"):
        sc.pos = saved
        return None
    if sc.take("="):
        return key, MonArgConstraint("equal", sc.string(f"a value after '{key}='"))
    if sc.skip_ws() and sc.word() in ("prefix", "regex"):
        kind = sc.take_word()
        sc.require_ws(kind)
        return key, MonArgConstraint(kind, sc.string(f"a value after '{kind}'"))
    sc.pos = saved
    return None


_BLOCKLIST_ADDR = r"[^/]+/[0-9]+"  # an entity address with its nonce: "IP:port/nonce"


def _mon_blocklist_grants() -> tuple[MonGrant, ...]:
    """``osd blocklist add <addr/nonce>`` and its pre-Pacific ``blacklist`` spelling."""
    addr = ("addr", MonArgConstraint("regex", _BLOCKLIST_ADDR))
    return (
        MonGrant(
            command="osd blocklist",
            command_args=(("blocklistop", MonArgConstraint("equal", "add")), addr),
        ),
        MonGrant(
            command="osd blacklist",
            command_args=(("blacklistop", MonArgConstraint("equal", "add")), addr),
        ),
    )


def _svc(service: str, perms: int) -> MonGrant:
    return MonGrant(service=service, perms=perms)


def _cmd(command: str, **constraints: MonArgConstraint) -> MonGrant:
    return MonGrant(command=command, command_args=tuple(constraints.items()))


def _eq(value: str) -> MonArgConstraint:
    return MonArgConstraint("equal", value)


def _prefix(value: str) -> MonArgConstraint:
    return MonArgConstraint("prefix", value)


_CLIENT_READ = (_svc("mon", MON_R), _svc("osd", MON_R), _svc("pg", MON_R))
_BOOTSTRAP_READ = (_svc("mon", MON_R), _svc("osd", MON_R), _cmd("mon getmap"))
_OPT_QUOTE = "['\"]?"
_RBD_PROFILE_CLAUSE = (
    rf"[ ,]*profile(?:=| +){_OPT_QUOTE}rbd[^ ,'\"]*{_OPT_QUOTE}"
    rf"(?: +pool(?:=| +){_OPT_QUOTE}[^,'\"]+{_OPT_QUOTE})?"
)
_RBD_CAPS_OSD = rf"(?:{_RBD_PROFILE_CLAUSE})+"
"""What bootstrap-rbd lets a new client's osd caps be: only rbd profiles, maybe per pool."""


def _mon_profile_table() -> dict[str, tuple[MonGrant, ...]]:
    """Mon profile name -> grants (Ceph's ``expand_profile_mon``)."""
    rbd = _CLIENT_READ + _mon_blocklist_grants()
    return {
        "read-only": (MonGrant(perms=MON_R),),
        "read-write": (MonGrant(perms=MON_R | MON_W),),
        "mon": (_svc("mon", MON_ALL), _svc("log", MON_ALL)),
        "osd": (
            _svc("osd", MON_ALL),
            _svc("mon", MON_R),
            _svc("pg", MON_R | MON_W),
            _svc("log", MON_W),
        ),
        "mds": (
            _svc("mds", MON_ALL),
            _svc("mon", MON_R),
            _svc("osd", MON_R),
            _cmd("osd pool rmsnap"),
            _cmd("osd blocklist"),
            _cmd("osd blacklist"),
            _svc("log", MON_W),
        ),
        "mgr": (
            _svc("mgr", MON_ALL),
            _svc("log", MON_R | MON_W),
            _svc("mon", MON_R | MON_W),
            _svc("mds", MON_R | MON_W),
            _svc("fs", MON_R | MON_W),
            _svc("osd", MON_R | MON_W),
            _svc("auth", MON_R | MON_X),
            _svc("config-key", MON_R | MON_W),
            _svc("config", MON_R | MON_W),
        ),
        "bootstrap-osd": (*_BOOTSTRAP_READ, _cmd("osd new"), _cmd("osd purge-new")),
        "bootstrap-mds": (
            *_BOOTSTRAP_READ,
            _cmd(
                "auth get-or-create",
                entity=_prefix("mds."),
                caps_mon=_eq("allow profile mds"),
                caps_osd=_eq("allow rwx"),
                caps_mds=_eq("allow"),
            ),
        ),
        "bootstrap-mgr": (
            *_BOOTSTRAP_READ,
            _cmd("auth get-or-create", entity=_prefix("mgr."), caps_mon=_eq("allow profile mgr")),
        ),
        "bootstrap-rgw": (
            *_BOOTSTRAP_READ,
            _cmd(
                "auth get-or-create",
                entity=_prefix("client.rgw."),
                caps_mon=_eq("allow rw"),
                caps_osd=_eq("allow rwx"),
            ),
        ),
        "bootstrap-rbd": _bootstrap_rbd("profile rbd"),
        "bootstrap-rbd-mirror": _bootstrap_rbd("profile rbd-mirror"),
        "fs-client": (*_CLIENT_READ, _svc("mds", MON_R)),
        "simple-rados-client": _CLIENT_READ,
        "simple-rados-client-with-blocklist": rbd,
        "rbd": rbd,
        "rbd-mirror": (*rbd, _cmd("config-key get", key=_prefix("rbd/mirror/"))),
        "crash": (_svc("mon", MON_R),),
        "role-definer": (_svc("mon", MON_R), _svc("auth", MON_ALL)),
    }


def _bootstrap_rbd(caps_mon: str) -> tuple[MonGrant, ...]:
    return (
        _svc("mon", MON_R),
        _cmd(
            "auth get-or-create",
            entity=_prefix("client."),
            caps_mon=_eq(caps_mon),
            caps_osd=MonArgConstraint("regex", _RBD_CAPS_OSD),
        ),
    )


_MON_PROFILES = _mon_profile_table()


def _mon_profile_grants(name: str) -> tuple[MonGrant, ...]:
    return _MON_PROFILES.get(name, ())


# --------------------------------------------------------------------------
# mgr and mds caps (validated only)
# --------------------------------------------------------------------------


def _parse_mgr_grant(sc: _Scanner) -> None:
    """Validate one mgr grant (Ceph's ``MgrCap`` grammar).

    ``[allow] profile NAME [KV...]``, ``allow rwxa``, ``allow service NAME
    rwxa``, ``allow module NAME [with KV...] rwxa``, ``allow command STR
    [with KV...]``, each with an optional ``network``.
    """
    start = sc.pos
    head = sc.take_word()
    if head == "profile":
        return _parse_mgr_profile(sc)
    if head != "allow":
        raise _head_error(sc, start)
    sc.require_ws("allow")
    kind = sc.word()
    if kind == "profile":
        sc.take_word()
        return _parse_mgr_profile(sc)
    if kind in ("service", "command"):
        sc.take_word()
        parse = _parse_mon_service if kind == "service" else _parse_mon_command
        parse(sc)
        return None
    if kind == "module":
        sc.take_word()
        return _parse_mgr_module(sc)
    _parse_mon_rwxa(sc)
    _parse_network(sc)
    return None


def _parse_mgr_profile(sc: _Scanner) -> None:
    sc.gap("profile", allow_equals=True)
    sc.string("a profile name after 'profile'")
    saved = sc.pos
    if sc.skip_ws() and _try_parse_kv(sc) is not None:
        sc.pos = saved
        sc.skip_ws()
        _parse_kv_list(sc)
    else:
        sc.pos = saved
    _parse_network(sc)


def _parse_mgr_module(sc: _Scanner) -> None:
    sc.gap("module", allow_equals=True)
    name = sc.string("a module name after 'module'")
    if sc.take_keyword("with"):
        sc.require_ws("with")
        _parse_kv_list(sc)
    sc.require_ws(name)
    _parse_mon_rwxa(sc)
    _parse_network(sc)


_MDS_SPECS = frozenset({"*", "all", "r", "rw", "rwp", "rws", "rwps"})
_MDS_OPTIONS = frozenset({"fsname", "fs", "path", "uid", "gids"})


def _parse_mds_grant(sc: _Scanner) -> None:
    """Validate one mds grant: ``allow SPEC [OPTION...] [network CIDR]``.

    SPEC is ``*``, ``all``, ``r``, ``rw``, ``rwp``, ``rws`` or ``rwps``;
    options are ``fsname=``/``fs=``, ``path=``, ``uid=``, ``gids=N[,N...]``
    and ``root_squash``, each at most once (shoal accepts them in any order).
    """
    start = sc.pos
    if sc.take_word() != "allow":
        raise _head_error(sc, start, "'allow'")
    sc.require_ws("allow")
    spec_pos = sc.pos
    spec = "*" if sc.take("*") else sc.take_word()
    if spec not in _MDS_SPECS:
        raise sc.fail(
            f"invalid permission {sc.token_at(spec_pos)!r}; expected *, r, rw, rwp, rws or rwps",
            spec_pos,
        )
    seen: set[str] = set()
    while (word := sc.peek_word()) in _MDS_OPTIONS or word == "root_squash":
        option_pos = sc.pos
        sc.take_keyword(word)
        if word in seen:
            raise sc.fail(f"{word!r} given twice", option_pos)
        seen.add(word)
        if word != "root_squash":
            _parse_mds_option_value(sc, word)
    _parse_network(sc)


def _parse_mds_option_value(sc: _Scanner, option: str) -> None:
    if not sc.take("="):
        raise sc.fail(f"expected '=' after {option!r}")
    if option in ("uid", "gids"):
        pattern = r"\d+" if option == "uid" else r"\d+(,\d+)*"
        found = re.match(pattern, sc.text[sc.pos :])
        if found is None:
            raise sc.fail(f"expected a number after '{option}='")
        sc.pos += found.end()
        return
    sc.string(f"a value after '{option}='", allow_empty=option == "path")


# --------------------------------------------------------------------------
# validation entry point
# --------------------------------------------------------------------------


def validate_caps(service: str, text: str) -> None:
    """Check that ``text`` is a valid caps string for ``service``.

    ``mon`` and ``osd`` use the full parsers above; ``mgr`` and ``mds`` are
    checked against Ceph's ``MgrCap`` and ``MDSAuthCaps`` grammars (the mds
    string exactly ``allow`` is Ceph's legacy "rwps everywhere"). An empty
    string is valid for every service and grants nothing.

    Raises:
        errors.BadCaps: the string does not parse.
        errors.InvalidArgument: ``service`` is not mon, osd, mgr or mds.
    """
    if service == "mon":
        parse_mon_caps(text)
    elif service == "osd":
        parse_osd_caps(text)
    elif service == "mgr":
        _parse_grants(_Scanner("mgr", text), _parse_mgr_grant)
    elif service == "mds":
        if text.strip() != "allow":
            _parse_grants(_Scanner("mds", text), _parse_mds_grant)
    else:
        raise errors.InvalidArgument(
            f"unknown caps service {service!r}; expected one of mds, mgr, mon, osd"
        )


def ceph_parse_error(service: str, text: str) -> str | None:
    """Ceph's own message for an invalid caps string, None if ``text`` is valid.

    Ceph's parsers (Boost.Spirit) report ``"<service> capability parse failed,
    stopped at '<rest>' of '<text>'"``, where ``rest`` follows the longest run
    of complete grants the parser accepted (and the spaces after it); when not
    even one grant parses, ``rest`` is the whole string. This finds that point
    as the longest non-blank prefix of ``text`` that is valid caps on its own,
    which gives Ceph's position for the grammars here (e.g. ``allow rr`` stops
    at ``r``, ``allow rwx pool=`` at ``pool=``, ``allow foo`` at the start).

    Raises:
        errors.InvalidArgument: ``service`` is not mon, osd, mgr or mds.
    """
    try:
        validate_caps(service, text)
    except errors.BadCaps:
        pass
    else:
        return None
    stop = 0
    for end in range(len(text) - 1, 0, -1):
        prefix = text[:end]
        if not prefix.strip():
            break
        try:
            validate_caps(service, prefix)
        except errors.BadCaps:
            continue
        stop = end
        while stop < len(text) and text[stop] == " ":
            stop += 1
        break
    return f"{service} capability parse failed, stopped at '{text[stop:]}' of '{text}'"
