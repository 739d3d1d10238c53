"""Mon command signatures, after Ceph's ``MonCommands.h`` (Pacific).

Each :class:`CommandSpec` is one ``COMMAND(...)`` line: the literal prefix words,
the typed arguments (their JSON keys are Ceph's), a help line and the
(service, perms) the caller's mon caps must grant. Both sides use the table:

- the monitor validates and converts a JSON command dict (:func:`validate`);
- the ``ceph`` CLI turns words into that dict (:mod:`shoal.cluster._argparse`).

Argument kinds: ``str``, ``pool`` (a pool name), ``int`` (with an optional
range), ``float``, ``choices`` (one of ``choices``), ``bool`` (``CephBool``:
``--name-with-dashes`` on the CLI, JSON true/false). ``many`` is Ceph's
``n=N``: a list of strings taking every remaining word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from shoal import errors

__all__ = ["COMMANDS", "ArgSpec", "CommandSpec", "lookup", "validate"]

ArgKind = Literal["str", "pool", "int", "float", "choices", "bool"]


@dataclass(frozen=True)
class ArgSpec:
    """One named argument of a mon command."""

    name: str
    kind: ArgKind = "str"
    required: bool = True
    many: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    goodchars: str | None = None

    def usage(self) -> str:
        """Ceph's concise form: ``<pool>``, ``[<pg_num:int>]``, ``[--yes-i-really-mean-it]``."""
        if self.kind == "bool":
            return "[--" + self.name.replace("_", "-") + "]"
        if self.kind == "choices":
            text = "|".join(self.choices)
        else:
            suffix = {"int": ":int", "float": ":float"}.get(self.kind, "")
            text = f"<{self.name}{suffix}>"
        if self.many:
            text += "..."
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class CommandSpec:
    """One mon command: ``prefix`` words, arguments, help, and required caps."""

    prefix: str
    args: tuple[ArgSpec, ...] = ()
    help: str = ""
    service: str = "mon"
    perms: str = "r"
    hidden: bool = False
    _by_name: Mapping[str, ArgSpec] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name: a for a in self.args})

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.prefix.split())

    def arg(self, name: str) -> ArgSpec | None:
        return self._by_name.get(name)

    def usage(self) -> str:
        """``osd pool create <pool> [<pg_num:int>] ...`` as ``ceph -h`` prints it."""
        return " ".join([self.prefix, *(a.usage() for a in self.args)])


def _a(
    name: str,
    kind: ArgKind = "str",
    *,
    required: bool = True,
    many: bool = False,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    goodchars: str | None = None,
) -> ArgSpec:
    return ArgSpec(name, kind, required, many, choices, minimum, maximum, goodchars)


#: Ceph writes ``[A-Za-z0-9-_.]``; the ``9-_`` there is a range in Python's re, which
#: Ceph's CLI inherits. shoal means what Ceph meant: letters, digits, ``-``, ``_``, ``.``.
_GOODCHARS = r"[A-Za-z0-9_.-]"
#: An application metadata value may also hold ``=``.
_VALUE_GOODCHARS = r"[A-Za-z0-9_.=-]"
_POOL = _a("pool", "pool")
_ENTITY = _a("entity")
_CAPS_OPT = _a("caps", many=True, required=False)
_DETAIL = _a("detail", "choices", choices=("detail",), required=False)
_SURE = _a("yes_i_really_mean_it", "bool", required=False)
#: ``osd pool get``'s variables, in Ceph 16's order (the embedded monitor knows a subset).
POOL_VARS = (
    "size", "min_size", "pg_num", "pgp_num", "crush_rule", "hashpspool", "nodelete",
    "nopgchange", "nosizechange", "write_fadvise_dontneed", "noscrub", "nodeep-scrub",
    "hit_set_type", "hit_set_period", "hit_set_count", "hit_set_fpp", "use_gmt_hitset",
    "target_max_objects", "target_max_bytes", "cache_target_dirty_ratio",
    "cache_target_dirty_high_ratio", "cache_target_full_ratio", "cache_min_flush_age",
    "cache_min_evict_age", "erasure_code_profile", "min_read_recency_for_promote", "all",
    "min_write_recency_for_promote", "fast_read", "hit_set_grade_decay_rate",
    "hit_set_search_last_n", "scrub_min_interval", "scrub_max_interval",
    "deep_scrub_interval", "recovery_priority", "recovery_op_priority", "scrub_priority",
    "compression_mode", "compression_algorithm", "compression_required_ratio",
    "compression_max_blob_size", "compression_min_blob_size", "csum_type", "csum_min_block",
    "csum_max_block", "allow_ec_overwrites", "fingerprint_algorithm", "pg_autoscale_mode",
    "pg_autoscale_bias", "pg_num_min", "pg_num_max", "target_size_bytes", "target_size_ratio",
    "dedup_tier", "dedup_chunk_algorithm", "dedup_cdc_chunk_size", "bulk",
)

COMMANDS: tuple[CommandSpec, ...] = (
    # --- auth (AuthMonitor) -------------------------------------------------
    CommandSpec("auth export", (_a("entity", required=False),),
                "write keyring for requested entity, or master keyring if none given",
                "auth", "rx"),
    CommandSpec("auth get", (_ENTITY,), "write keyring file with requested key", "auth", "rx"),
    CommandSpec("auth get-key", (_ENTITY,), "display requested key", "auth", "rx"),
    CommandSpec("auth print-key", (_ENTITY,), "display requested key", "auth", "rx"),
    CommandSpec("auth print_key", (_ENTITY,), "display requested key", "auth", "rx",
                hidden=True),
    CommandSpec("auth list", (), "list authentication state", "auth", "rx", hidden=True),
    CommandSpec("auth ls", (), "list authentication state", "auth", "rx"),
    CommandSpec("auth import", (), "auth import: read keyring file from -i <file>",
                "auth", "rwx"),
    CommandSpec("auth add", (_ENTITY, _CAPS_OPT),
                "add auth info for <entity> from input file, or random key if no input is "
                "given, and/or any caps specified in the command", "auth", "rwx"),
    CommandSpec("auth get-or-create-key", (_ENTITY, _CAPS_OPT),
                "get, or add, key for <name> from system/caps pairs specified in the "
                "command.  If key already exists, any given caps must match the existing "
                "caps for that key.", "auth", "rwx"),
    CommandSpec("auth get-or-create", (_ENTITY, _CAPS_OPT),
                "add auth info for <entity> from input file, or random key if no input "
                "given, and/or any caps specified in the command", "auth", "rwx"),
    CommandSpec("auth caps", (_ENTITY, _a("caps", many=True)),
                "update caps for <name> from caps specified in the command", "auth", "rwx"),
    CommandSpec("auth del", (_ENTITY,), "delete all caps for <name>", "auth", "rwx",
                hidden=True),
    CommandSpec("auth rm", (_ENTITY,), "remove all caps for <name>", "auth", "rwx"),
    # --- monitor ----------------------------------------------------------------
    CommandSpec("fsid", (), "show cluster FSID/UUID"),
    CommandSpec("status", (), "show cluster status"),
    CommandSpec("health", (_DETAIL,), "show cluster health"),
    CommandSpec("df", (_DETAIL,), "show cluster free space stats"),
    CommandSpec("mon dump", (_a("epoch", "int", required=False, minimum=0),),
                "dump formatted monmap (optionally from epoch)"),
    # --- osd pools (OSDMonitor) ---------------------------------------------------
    CommandSpec("osd lspools", (), "list pools", "osd", "r", hidden=True),
    CommandSpec("osd pool ls", (_DETAIL,), "list pools", "osd", "r"),
    CommandSpec("osd pool create", (
        _POOL,
        _a("pg_num", "int", required=False, minimum=0),
        _a("pgp_num", "int", required=False, minimum=0),
        _a("pool_type", "choices", required=False, choices=("replicated", "erasure")),
        _a("erasure_code_profile", required=False, goodchars=_GOODCHARS),
        _a("rule", required=False),
        _a("expected_num_objects", "int", required=False, minimum=0),
        _a("size", "int", required=False, minimum=0),
        _a("pg_num_min", "int", required=False, minimum=0),
        _a("autoscale_mode", "choices", required=False, choices=("on", "off", "warn")),
        _a("target_size_bytes", "int", required=False, minimum=0),
        _a("target_size_ratio", "float", required=False, minimum=0, maximum=1),
    ), "create pool", "osd", "rw"),
    CommandSpec("osd pool delete", (
        _POOL, _a("pool2", "pool", required=False),
        _a("yes_i_really_really_mean_it", "bool", required=False),
        _a("yes_i_really_really_mean_it_not_faking", "bool", required=False),
    ), "delete pool", "osd", "rw"),
    CommandSpec("osd pool rm", (
        _POOL, _a("pool2", "pool", required=False),
        _a("yes_i_really_really_mean_it", "bool", required=False),
        _a("yes_i_really_really_mean_it_not_faking", "bool", required=False),
    ), "remove pool", "osd", "rw"),
    CommandSpec("osd pool get", (_POOL, _a("var", "choices", choices=POOL_VARS)),
                "get pool parameter <var>", "osd", "r"),
    CommandSpec("osd pool get-quota", (_POOL,), "obtain object or byte limits for pool",
                "osd", "r"),
    CommandSpec("osd pool application enable", (
        _POOL, _a("app", goodchars=_GOODCHARS), _SURE,
    ), "enable use of an application <app> [cephfs,rbd,rgw] on pool <poolname>", "osd", "rw"),
    CommandSpec("osd pool application disable", (_POOL, _a("app"), _SURE),
                "disables use of an application <app> on pool <poolname>", "osd", "rw"),
    CommandSpec("osd pool application set", (
        _POOL, _a("app", goodchars=_GOODCHARS), _a("key", goodchars=_GOODCHARS),
        _a("value", goodchars=_VALUE_GOODCHARS),
    ), "sets application <app> metadata key <key> to <value> on pool <poolname>", "osd", "rw"),
    CommandSpec("osd pool application rm", (
        _POOL, _a("app", goodchars=_GOODCHARS), _a("key"),
    ), "removes application <app> metadata key <key> on pool <poolname>", "osd", "rw"),
    CommandSpec("osd pool application get", (
        _a("pool", "pool", required=False), _a("app", required=False),
        _a("key", required=False),
    ), "get value of key <key> of application <app> on pool <poolname>", "osd", "r"),
)

_BY_PREFIX: dict[str, CommandSpec] = {spec.prefix: spec for spec in COMMANDS}


def lookup(prefix: str) -> CommandSpec | None:
    """The spec for ``prefix`` (exact words, single spaces), or None."""
    return _BY_PREFIX.get(" ".join(prefix.split()))


def validate(spec: CommandSpec, cmd: Mapping[str, object]) -> dict[str, object]:
    """Check ``cmd``'s arguments against ``spec`` and convert them.

    Returns only the arguments of ``spec`` that are present (other keys such as
    ``format`` are ignored, as the monitor ignores them). Integers and booleans
    given as strings are accepted (``"128"``, ``"true"``).

    Raises:
        errors.InvalidArgument: a required argument is missing or one has the
            wrong type or is out of range (choices and characters are the CLI's
            checks, see :func:`convert`).
    """
    out: dict[str, object] = {}
    for arg in spec.args:
        value = cmd.get(arg.name)
        if value is None:
            if arg.required:
                raise errors.InvalidArgument(f"missing required parameter {arg.name}")
            continue
        if arg.many:
            out[arg.name] = _convert_many(arg, value)
        else:
            out[arg.name] = convert(arg, value, client=False)
    return out


def _convert_many(arg: ArgSpec, value: object) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [str(convert(arg, item, client=False)) for item in items]


def convert(arg: ArgSpec, value: object, *, client: bool = True) -> object:
    """Convert one value for ``arg``; see :func:`validate` for the errors.

    ``client``: also check choices and allowed characters, as the ``ceph`` CLI
    does before sending a command; a monitor does not (Ceph 16 takes
    ``osd pool application set ... key="bad key"`` as JSON, and its handlers
    refuse bad choices with their own messages).
    """
    if arg.kind == "bool":
        return _to_bool(arg, value)
    if arg.kind in ("int", "float"):
        return _to_number(arg, value)
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"bad or missing field '{arg.name}'")
    # The messages are ceph_argparse's (the real ``ceph`` prints them after "Invalid command: ").
    if not client:
        return value
    if arg.kind == "choices" and value not in arg.choices:
        raise errors.InvalidArgument(f"{value} not in {'|'.join(arg.choices)}")
    if arg.goodchars and not re.fullmatch(arg.goodchars + "+", value):
        bad = "".join(dict.fromkeys(c for c in value if not re.fullmatch(arg.goodchars, c)))
        raise errors.InvalidArgument(f"invalid chars {bad} in {value}")
    return value


def _to_bool(arg: ArgSpec, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.InvalidArgument(f"{arg.name}: {value!r} is not a boolean")


def _to_number(arg: ArgSpec, value: object) -> int | float:
    number: int | float
    try:
        if isinstance(value, bool):
            raise ValueError
        if arg.kind == "int":
            number = value if isinstance(value, int) else int(str(value), 10)
        else:
            number = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        kind = "an int" if arg.kind == "int" else "a float"
        raise errors.InvalidArgument(f"{value} doesn't represent {kind}") from None
    if number != number:  # NaN
        raise errors.InvalidArgument(f"{arg.name}: {value!r} is not a number")
    if arg.minimum is not None and number < arg.minimum:
        raise errors.InvalidArgument(f"{arg.name}: {number} is less than {arg.minimum:g}")
    if arg.maximum is not None and number > arg.maximum:
        raise errors.InvalidArgument(f"{arg.name}: {number} is greater than {arg.maximum:g}")
    return number
