"""The effective configuration: typed sections, provenance and warnings."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from shoal import errors
from shoal.config import _load, _sections
from shoal.config._option import BACKEND
from shoal.config._source import ConfigInvalid, Setting

__all__ = ["ShoalConfig", "load_config"]

T = TypeVar("T")
_CACHE_TYPES = frozenset({"file", "block", "network", "mount"})
_CACHE_MODES = frozenset({"default", "none", "writethrough", "writeback", "directsync", "unsafe"})
_STORE_ALIASES = {"filesystem": "file"}


def _view(cls: type[T], settings: Mapping[str, Setting], **extra: Any) -> T:
    names = {f.name for f in fields(cls)} - set(extra)  # type: ignore[arg-type]
    values: dict[str, Any] = {name: settings[name].value for name in names}
    return cls(**values, **extra)


@dataclass(frozen=True)
class ShoalConfig:
    """The effective configuration.

    Attributes:
        settings: every effective option with its source, in registry order
            (Cinder backend options once per enabled backend).
        warnings: unknown sections/options, old spellings, removed options.
        sources: the files read (empty: built-in defaults only).

    Typed accessors: :attr:`glance_store`, :attr:`glance`, :attr:`cinder`,
    :meth:`cinder_backend`, :attr:`cinder_backends`, :attr:`nova`,
    :attr:`libvirt`, :attr:`workarounds`, :attr:`ceph_client`, :attr:`shoal`,
    :attr:`keystone_authtoken`.
    """

    settings: tuple[Setting, ...]
    warnings: tuple[str, ...]
    sources: tuple[Path, ...]

    def _section(self, section: str) -> dict[str, Setting]:
        return {s.name: s for s in self.settings if s.section == section
                and s.option.section != BACKEND}

    def _service_section(self, section: str, service: str) -> dict[str, Setting]:
        return {k: v for k, v in self._section(section).items() if v.option.service == service}

    @property
    def glance_store(self) -> _sections.GlanceStoreSection:
        """``[glance_store]``: e.g. ``rbd_store_chunk_size`` (int, MiB)."""
        return _view(_sections.GlanceStoreSection, self._section("glance_store"))

    @property
    def glance(self) -> _sections.GlanceSection:
        """Glance's ``[DEFAULT]`` options."""
        return _view(_sections.GlanceSection, self._service_section("DEFAULT", "glance"))

    @property
    def image_format(self) -> _sections.ImageFormatSection:
        """Glance's ``[image_format]`` (disk and container formats)."""
        return _view(_sections.ImageFormatSection, self._section("image_format"))

    @property
    def image_conversion(self) -> _sections.ImageConversionSection:
        """Glance's ``[image_conversion]``."""
        return _view(_sections.ImageConversionSection, self._section("image_conversion"))

    @property
    def cinder(self) -> _sections.CinderSection:
        """Cinder's ``[DEFAULT]`` options (backends, backup)."""
        return _view(_sections.CinderSection, self._service_section("DEFAULT", "cinder"))

    @property
    def cinder_backends(self) -> tuple[str, ...]:
        """Names of the served backend sections, in ``enabled_backends`` order."""
        seen: dict[str, None] = {}
        for s in self.settings:
            if s.option.section == BACKEND:
                seen.setdefault(s.section, None)
        return tuple(seen)

    def cinder_backend(self, name: str) -> _sections.CinderBackendSection:
        """Backend section ``name`` (e.g. ``cfg.cinder_backend("ceph").rbd_pool``).

        Raises:
            errors.NotFound: ``name`` is not an enabled backend.
        """
        values = {s.name: s for s in self.settings
                  if s.option.section == BACKEND and s.section == name}
        if not values:
            raise errors.NotFound(
                f"no enabled cinder backend {name!r} (enabled_backends: "
                f"{', '.join(self.cinder_backends) or 'none'})")
        return _view(_sections.CinderBackendSection, values, name=name)

    @property
    def nova(self) -> _sections.NovaSection:
        """Nova's ``[DEFAULT]`` options."""
        return _view(_sections.NovaSection, self._service_section("DEFAULT", "nova"))

    @property
    def libvirt(self) -> _sections.LibvirtSection:
        """Nova's ``[libvirt]``: e.g. ``images_type``, ``hw_disk_discard``."""
        return _view(_sections.LibvirtSection, self._section("libvirt"))

    @property
    def workarounds(self) -> _sections.WorkaroundsSection:
        """Nova's ``[workarounds]``."""
        return _view(_sections.WorkaroundsSection, self._section("workarounds"))

    @property
    def ceph_client(self) -> _sections.CephClientSection:
        """ceph.conf's ``[client]``, falling back to ``[global]``."""
        return _view(_sections.CephClientSection, self._section("client"))

    @property
    def shoal(self) -> _sections.ShoalSection:
        """shoal's ``[shoal]``: backend, data_dir, host, ports, database, users."""
        return _view(_sections.ShoalSection, self._section("shoal"))

    @property
    def keystone_authtoken(self) -> _sections.KeystoneAuthtokenSection:
        """``[keystone_authtoken]``: a remote Keystone to validate tokens against
        (``enabled`` false: shoal's own identity service)."""
        return _view(_sections.KeystoneAuthtokenSection, self._section("keystone_authtoken"))

    def setting(self, section: str, name: str) -> Setting:
        """The effective setting of ``[section] name`` (section: a backend's name
        for Cinder backend options; ceph options with underscores).

        Raises:
            errors.NotFound: no such option there.
        """
        for s in self.settings:
            if s.section == section and s.name == name:
                return s
        raise errors.NotFound(f"no option [{section}] {name}")

    def to_json(self, *, show_secrets: bool = False) -> dict[str, object]:
        """``{"sources", "warnings", "options": [{"section", "name", "type",
        "value", "default", "source"}]}``; set secrets show as ``****``."""
        options = []
        for s in self.settings:
            value: object = s.value
            if isinstance(value, tuple):
                value = list(value)
            if s.option.secret and s.value is not None and not show_secrets:
                value = "****"
            default = s.option.default
            options.append({
                "section": s.section, "name": s.name, "type": s.option.kind, "value": value,
                "default": list(default) if isinstance(default, tuple) else default,
                "source": s.source.to_json(), "service": s.option.service,
            })
        return {"sources": [str(p) for p in self.sources], "warnings": list(self.warnings),
                "options": options}


def load_config(*, file: str | os.PathLike[str] | None = None,
                directory: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> ShoalConfig:
    """Load ``shoal.conf`` (``file``), the real files of ``directory``, or
    nothing (built-in defaults); ``environ`` (default ``os.environ``) gives the
    ``SHOAL_BACKEND``/``SHOAL_DATA_DIR`` overrides.

    Raises:
        errors.InvalidArgument: both ``file`` and ``directory``; unreadable or
            malformed file; :class:`ConfigInvalid` for an invalid value (its
            message names the option, the section, the file and the line).
        errors.NotFound: the file or directory does not exist.
    """
    if file is not None and directory is not None:
        raise errors.InvalidArgument("give a configuration file or a directory, not both")
    docs: list[_load.Document] = []
    if file is not None:
        docs = _load.read_file(Path(file))
    elif directory is not None:
        docs = _load.read_dir(Path(directory))
    env = os.environ if environ is None else environ
    settings, warnings = _load.resolve(docs, env)
    warnings.extend(_load.iter_rbd_mismatch(settings))
    config = ShoalConfig(tuple(settings), tuple(warnings), tuple(d.ini.path for d in docs))
    _check(config)
    store_warning = _check_default_store(config)
    if store_warning:
        config = ShoalConfig(config.settings, (*config.warnings, store_warning), config.sources)
    return config


def _check_default_store(config: ShoalConfig) -> str | None:
    """Current glance refuses to start when ``default_store`` is not among
    ``stores`` (the appendix's older snippet sets only ``default_store``);
    shoal keeps images in RBD either way, so this is a warning."""
    store = config.setting("glance_store", "default_store")
    stores = config.glance_store.stores
    normalized = {_STORE_ALIASES.get(s, s) for s in stores}
    if _STORE_ALIASES.get(str(store.value), str(store.value)) in normalized:
        return None
    where = f"{store.source.path}:{store.source.line}: " if store.source.kind == "file" else ""
    return (f"{where}default_store = {store.value} is not among stores "
            f"({', '.join(stores) or 'none'}): current glance refuses to start; add "
            f"stores = {store.value}")


def _invalid(setting: Setting, reason: str) -> ConfigInvalid:
    src = setting.source
    where = f"{src.path}:{src.line}: " if src.kind == "file" else ""
    if src.kind == "env":
        where = f"environment {src.env}: "
    return ConfigInvalid(
        f"{where}[{src.section or setting.section}] {src.name or setting.name} = "
        f"{setting.option.format(setting.value)!r}: {reason}",
        section=src.section or setting.section, option=setting.name, path=src.path,
        line=src.line)


def _check(config: ShoalConfig) -> None:
    """Checks spanning options (each value is already valid alone)."""
    algo = config.setting("DEFAULT", "hashing_algorithm")
    if str(algo.value) not in hashlib.algorithms_available:
        raise _invalid(algo, "not a hash algorithm of this Python's hashlib (e.g. sha512)")
    modes = config.setting("libvirt", "disk_cachemodes")
    for item in config.libvirt.disk_cachemodes:
        kind, _, mode = item.partition("=")
        if kind.strip() not in _CACHE_TYPES or mode.strip() not in _CACHE_MODES:
            raise _invalid(modes, f"item {item!r} is not TYPE=MODE (types: "
                                  f"{', '.join(sorted(_CACHE_TYPES))}; modes: "
                                  f"{', '.join(sorted(_CACHE_MODES))})")
    used: dict[int, str] = {}
    for name in ("identity_port", "image_port", "volume_port", "compute_port"):
        port = config.setting("shoal", name)
        number = int(port.value) if isinstance(port.value, int) else 0
        if number and number in used:
            raise _invalid(port, f"the same port as {used[number]}")
        used[number] = name
    _check_auth(config)


def _check_auth(config: ShoalConfig) -> None:
    """``auth_strategy`` is ``keystone``; a remote Keystone's URLs and credentials."""
    strategy = config.setting("DEFAULT", "auth_strategy")
    if strategy.value != "keystone":
        raise _invalid(strategy, "shoal always checks Keystone tokens (its own identity "
                                 "service's, or those of [keystone_authtoken] auth_url); "
                                 "use keystone")
    section = config.keystone_authtoken
    public = config.setting("keystone_authtoken", "www_authenticate_uri")
    if section.www_authenticate_uri is not None:
        try:
            _sections.identity_v3_url(section.www_authenticate_uri)
        except ValueError as exc:
            raise _invalid(public, str(exc)) from None
    if section.auth_url is None:
        return
    auth_url = config.setting("keystone_authtoken", "auth_url")
    try:
        _sections.identity_v3_url(section.auth_url)
    except ValueError as exc:
        raise _invalid(auth_url, str(exc)) from None
    if section.missing:
        raise _invalid(auth_url, "a remote Keystone needs the service user that validates "
                                 f"tokens: set {', '.join(section.missing)} in "
                                 "[keystone_authtoken]")
