"""Turn ``ceph`` command words into a mon command dict, as Ceph's ``ceph_argparse``.

``["osd", "pool", "create", "volumes", "128"]`` becomes
``{"prefix": "osd pool create", "pool": "volumes", "pg_num": 128}``.

Rules (Ceph's): the longest command whose literal words start the input wins;
its arguments bind positionally in order, an optional argument that does not
accept the next word is skipped; ``--name value``, ``--name=value`` (dashes or
underscores) set an argument by name anywhere; a bool argument is set by the flag
``--its-name`` alone; a ``many`` argument takes every remaining word; a lone
``--`` ends named options. Global options (``--id``, ``-o`` ...) must have been
removed by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from shoal import errors
from shoal.cluster._commands import COMMANDS, ArgSpec, CommandSpec, convert

__all__ = ["CommandSyntaxError", "closest_commands", "parse_words"]

_CLOSEST_MAX = 10


class CommandSyntaxError(errors.InvalidArgument):
    """The words are not a valid command. ``lines`` are the diagnostics ``ceph`` prints."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("invalid command")
        self.lines = list(lines)


def parse_words(
    words: Sequence[str], commands: Sequence[CommandSpec] = COMMANDS
) -> dict[str, object]:
    """Parse ``words`` into a JSON-ready command dict.

    Raises:
        CommandSyntaxError: no command matches, or its arguments do not bind.
    """
    spec = _match(words, commands)
    if spec is None:
        matches = closest_commands(words, commands)
        lines = [f"no valid command found; {len(matches)} closest matches:"]
        raise CommandSyntaxError(lines + [m.usage() for m in matches])
    try:
        values = _bind(spec, list(words[len(spec.words):]))
    except errors.InvalidArgument as exc:
        raise CommandSyntaxError(
            [f"Invalid command: {exc}", f"{spec.usage()} :  {spec.help}"]
        ) from None
    return {"prefix": spec.prefix, **values}


def _match(words: Sequence[str], commands: Sequence[CommandSpec]) -> CommandSpec | None:
    best: CommandSpec | None = None
    for spec in commands:
        n = len(spec.words)
        if tuple(words[:n]) == spec.words and (best is None or n > len(best.words)):
            best = spec
    return best


def closest_commands(
    words: Sequence[str], commands: Sequence[CommandSpec] = COMMANDS
) -> list[CommandSpec]:
    """Visible commands sharing the most leading words with ``words`` (at most 10)."""
    def shared(spec: CommandSpec) -> int:
        count = 0
        for have, want in zip(words, spec.words, strict=False):
            if have != want:
                break
            count += 1
        return count

    visible = [spec for spec in commands if not spec.hidden]
    best = max((shared(spec) for spec in visible), default=0)
    return sorted((s for s in visible if shared(s) == best), key=lambda s: s.prefix)[
        :_CLOSEST_MAX
    ]


def _bind(spec: CommandSpec, rest: list[str]) -> dict[str, object]:
    named, positional = _split_named(spec, rest)
    values: dict[str, object] = dict(named)
    for arg in spec.args:
        if arg.name in values or arg.kind == "bool":
            continue
        if not positional:
            if arg.required:
                raise errors.InvalidArgument(f"missing required parameter {_describe(arg)}")
            continue
        if arg.many:
            values[arg.name] = [str(convert(arg, word)) for word in positional]
            positional = []
            continue
        try:
            values[arg.name] = convert(arg, positional[0])
        except errors.InvalidArgument:
            if arg.required:
                raise
            continue
        positional.pop(0)
    if positional:
        raise errors.InvalidArgument(f"unused arguments: {positional!r}")
    return values


def _split_named(spec: CommandSpec, rest: list[str]) -> tuple[dict[str, object], list[str]]:
    """Separate ``--name[=value]`` options of ``spec`` from positional words."""
    named: dict[str, object] = {}
    positional: list[str] = []
    index = 0
    while index < len(rest):
        word = rest[index]
        index += 1
        if word == "--":
            positional.extend(rest[index:])
            break
        if not word.startswith("--") or len(word) == 2:
            positional.append(word)
            continue
        key, eq, inline = word[2:].partition("=")
        arg = spec.arg(key.replace("-", "_"))
        if arg is None:
            raise errors.InvalidArgument(f"unknown option {word!r}")
        if arg.kind == "bool":
            named[arg.name] = convert(arg, inline) if eq else True
            continue
        if not eq:
            if index >= len(rest):
                raise errors.InvalidArgument(f"option {word!r} needs a value")
            inline = rest[index]
            index += 1
        named[arg.name] = [inline] if arg.many else convert(arg, inline)
    return named, positional


def _describe(arg: ArgSpec) -> str:
    """``pool(<poolname>)``-style name used in Ceph's "missing required" message."""
    return f"{arg.name}({arg.usage().strip('[]')})"
