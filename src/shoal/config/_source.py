"""Provenance of an effective value, and the error naming where a bad one is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shoal import errors
from shoal.config._option import Option

__all__ = ["ConfigInvalid", "Setting", "Source"]


@dataclass(frozen=True)
class Source:
    """Where a value came from.

    ``kind`` is ``default`` (the built-in upstream default), ``file`` (``path``,
    1-based ``line``, and the section and name as written there) or ``env``
    (the environment variable ``env``).
    """

    kind: Literal["default", "file", "env"]
    path: Path | None = None
    line: int | None = None
    section: str | None = None
    name: str | None = None
    env: str | None = None

    def __str__(self) -> str:
        if self.kind == "file":
            return f"{self.path}:{self.line} [{self.section}] {self.name}"
        if self.kind == "env":
            return f"env {self.env}"
        return "default"

    def to_json(self) -> dict[str, object]:
        """JSON: ``{"kind", "path", "line", "section", "name", "env"}``, unset keys dropped."""
        out: dict[str, object] = {"kind": self.kind}
        for key in ("path", "line", "section", "name", "env"):
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value) if key == "path" else value
        return out


DEFAULT_SOURCE = Source("default")


@dataclass(frozen=True)
class Setting:
    """One effective option: the section it is shown under (a backend's name for
    Cinder backend options), its option, typed value and source."""

    section: str
    option: Option
    value: object
    source: Source

    @property
    def name(self) -> str:
        return self.option.name

    def display_value(self, *, show_secrets: bool = False) -> str:
        """The value as INI text; secrets that are set show as ``****``."""
        if self.option.secret and self.value is not None and not show_secrets:
            return "****"
        return self.option.format(self.value)


class ConfigInvalid(errors.InvalidArgument):
    """An option's value is invalid: names the option, section, file and line.

    Attributes:
        section / option / path / line: where (path and line None for an
            environment variable or a cross-option check without one place).
    """

    def __init__(self, message: str, *, section: str, option: str,
                 path: Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.section = section
        self.option = option
        self.path = path
        self.line = line
