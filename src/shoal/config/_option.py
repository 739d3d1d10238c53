"""One configuration option: where it lives, its type, upstream default and help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shoal.cluster._conf import parse_bool as parse_ceph_bool
from shoal.config import _types
from shoal.config._types import Kind

__all__ = ["BACKEND", "Option", "Service"]

#: Which program owns an option (and so which real file it belongs to); ``oslo``: a
#: library every OpenStack service reads (oslo.log), in each of their files.
Service = Literal["glance", "cinder", "nova", "ceph", "shoal", "oslo"]

#: Placeholder section of Cinder backend options: they live in the sections
#: named by ``enabled_backends`` (then ``[backend_defaults]``, then ``[DEFAULT]``).
BACKEND = "<backend>"


@dataclass(frozen=True)
class Option:
    """A typed option.

    Attributes:
        service: the program whose file holds it.
        section: canonical section (``BACKEND`` for Cinder backend sections).
        name: canonical name (Ceph options with underscores).
        kind: value type; ``default`` is upstream's built-in default (None: unset).
        help: what it does, with units.
        choices: allowed values of an ``enum``.
        minimum / maximum: bounds of an ``int`` (inclusive).
        power_of_two: an ``int`` that must be a power of two.
        secret: masked by ``shoal config show``.
        iec: an ``int`` in bytes that takes Ceph's K/M/G suffixes (``32M``).
        aliases: other (section, name) spellings accepted, as oslo.config's
            deprecated names/groups (e.g. ``("DEFAULT", "libvirt_images_type")``).
        removed: set when upstream no longer reads the option: a warning says why.
    """

    service: Service
    section: str
    name: str
    kind: Kind
    default: object
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    power_of_two: bool = False
    secret: bool = False
    iec: bool = False
    aliases: tuple[tuple[str, str], ...] = ()
    removed: str = ""

    def parse(self, text: str) -> object:
        """The typed value of ``text`` as upstream reads it.

        Raises:
            ValueError: the reason ``text`` is not valid for this option.
        """
        if self.kind == "bool":
            if self.service == "ceph":
                return parse_ceph_bool(text)
            return _types.parse_oslo_bool(text)
        if self.kind == "int":
            if self.iec:
                return self._check_int(_types.parse_ceph_size(text))
            return self._check_int(_types.parse_int(text))
        if self.kind == "list":
            return _types.parse_list(text)
        if self.kind == "uuid":
            return _types.parse_uuid(text)
        value = text.strip()
        if self.kind == "enum":
            if value not in self.choices:
                raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
            return value
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        if value == "" and self.default is None:
            return None
        return value

    def _check_int(self, value: int | None) -> int | None:
        if value is None:
            if self.default is None:
                return None
            raise ValueError(f"empty; remove the line for the default ({self.default})")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{value} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is above the maximum {self.maximum}")
        if self.power_of_two and value & (value - 1):
            raise ValueError(f"{value} is not a power of two (the RBD object order is its log2)")
        return value

    def format(self, value: object) -> str:
        """INI text of ``value`` for this option (round-trips through :meth:`parse`)."""
        return _types.format_value(value, ceph=self.service == "ceph")
