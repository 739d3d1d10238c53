"""Which backends may hold a volume of a type: Cinder's ``CapabilitiesFilter``.

A type's extra specs are requirements on a backend's reported capabilities (its driver's
stats: ``volume_backend_name``, ``vendor_name``, ``storage_protocol``, ``multiattach``...).
A key in another scope than ``capabilities:`` (``qos:``, ``hw:``, ``RESKEY:``...) is not a
requirement; ``capabilities:a:b`` looks ``b`` up inside capability ``a``. A capability the
backend does not report fails the requirement; a list-valued one passes if any item does.

A requirement is a plain string (equal to the capability, compared as given) or one of the
operators of Cinder's ``extra_specs_ops``:

=============================  =============================================================
``= N``, ``>= N``, ``<= N``     numeric comparison (``=`` means "at least")
``== N``, ``!= N``              numeric (in)equality
``s== S`` ... ``s>= S``         string comparison (``s==``, ``s!=``, ``s<``, ``s<=``, ``s>``)
``<in> S``                      ``S`` is a substring (or an item) of the capability
``<is> B``                      both are the same boolean (``True``/``yes``/``1``...)
``<or> A <or> B``               the capability is one of the words
=============================  =============================================================

A number that does not parse fails the requirement (it raises nothing).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["TRUE_WORDS", "backend_passes", "spec_matches"]

#: The strings read as boolean true (oslo's ``bool_from_string``; any case).
TRUE_WORDS: Final = frozenset({"1", "t", "true", "on", "y", "yes"})


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def _float_op(compare: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    def check(value: Any, wanted: str) -> bool:
        return compare(float(value), float(wanted))
    return check


_OPERATORS: Final[Mapping[str, Callable[[Any, str], bool]]] = {
    "=": _float_op(operator.ge),
    "==": _float_op(operator.eq),
    "!=": _float_op(operator.ne),
    ">=": _float_op(operator.ge),
    "<=": _float_op(operator.le),
    "<in>": lambda value, wanted: wanted in value,
    "<is>": lambda value, wanted: _as_bool(value) is _as_bool(wanted),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def _one_of(value: Any, words: list[str]) -> bool:
    """``<or> A <or> B ...`` (the first ``<or>`` already taken): ``value`` is one of them."""
    return value in words[0::2]


def spec_matches(value: Any, wanted: str | None) -> bool:
    """Whether capability ``value`` satisfies requirement ``wanted`` (see the module
    docstring); ``wanted`` None matches only a None value."""
    if wanted is None:
        return value is None
    words = wanted.split()
    op = words.pop(0) if words else None
    if op == "<or>":
        return value is not None and _one_of(value, words)
    method = None if op is None else _OPERATORS.get(op)
    if method is None:
        return bool(value == wanted)
    if value is None or not words:
        return False
    try:
        return bool(method(value, words[0]))
    except (ValueError, TypeError):
        return False


def _lookup(capabilities: Mapping[str, Any], path: list[str]) -> tuple[bool, Any]:
    """(found, value) of the nested capability ``path``."""
    current: Any = capabilities
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def backend_passes(capabilities: Mapping[str, Any], extra_specs: Mapping[str, str]) -> bool:
    """Whether a backend reporting ``capabilities`` satisfies every requirement of a type's
    ``extra_specs`` (no requirement: every backend passes)."""
    for key, wanted in extra_specs.items():
        path = key.split(":")
        if len(path) > 1 and path[0] != "capabilities":
            continue  # another scope: not a scheduling requirement
        if path[0] == "capabilities":
            path = path[1:]
        found, value = _lookup(capabilities, path)
        if not found:
            return False
        values = value if isinstance(value, list) else [value]
        if not any(spec_matches(item, wanted) for item in values):
            return False
    return True
