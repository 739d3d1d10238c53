"""Reading ``shoal.conf`` or a directory of the real files into effective settings.

Resolution (first found wins):

- an option with a canonical place: the environment override (``[shoal]``
  ``backend``/``data_dir`` only: ``SHOAL_BACKEND``, ``SHOAL_DATA_DIR``), its
  canonical ``[section] name``, then its older spellings (``Option.aliases``),
  then upstream's default;
- a Cinder backend option for backend ``B``: ``[B]``, ``[backend_defaults]``,
  ``[DEFAULT]``, then the default;
- a ceph.conf client option: ``[client]``, then ``[global]``.

In a directory, each file holds only its program's options: ``glance-api.conf``
(Glance), ``cinder.conf`` (Cinder), ``nova.conf`` (Nova), each also oslo.log's
``[DEFAULT]`` options (nova.conf's win
over cinder.conf's, over glance-api.conf's), ``ceph.conf`` (Ceph)
and an optional ``shoal.conf`` (any; the real files win over it; the one
``[keystone_authtoken]`` every API shares comes from it alone). Options and
sections shoal does not know are reported in ``warnings``; of ceph.conf only
``[client]`` is checked (Ceph has hundreds of options and daemon sections).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shoal import errors
from shoal.cluster._conf import Entry
from shoal.config._ini import IniFile, read_ceph, read_ini
from shoal.config._option import BACKEND, Option, Service
from shoal.config._registry import OPTIONS
from shoal.config._source import DEFAULT_SOURCE, ConfigInvalid, Setting, Source

__all__ = ["DIR_FILES", "ENV_OVERRIDES", "Document", "read_dir", "read_file", "resolve"]

#: Files read from a configuration directory, and whose options each holds.
DIR_FILES: tuple[tuple[str, frozenset[Service] | None], ...] = (
    ("shoal.conf", None),
    ("glance-api.conf", frozenset({"glance", "oslo"})),
    ("cinder.conf", frozenset({"cinder", "oslo"})),
    ("nova.conf", frozenset({"nova", "oslo"})),
    ("ceph.conf", frozenset({"ceph"})),
)
#: Environment variables overriding ``[shoal]`` options.
ENV_OVERRIDES: dict[str, str] = {"backend": "SHOAL_BACKEND", "data_dir": "SHOAL_DATA_DIR"}

_CEPH_CHECKED = "client"
_RBD_DRIVER = "cinder.volume.drivers.rbd.RBDDriver"
_FIXED_SECTIONS: dict[str, Service] = {
    "glance_store": "glance", "libvirt": "nova", "workarounds": "nova", "shoal": "shoal",
    "backend_defaults": "cinder", "global": "ceph", "client": "ceph",
    "keystone_authtoken": "shoal",
}


def is_ceph_section(name: str) -> bool:
    """ceph.conf's sections as they appear in shoal.conf: global, client, client.NAME."""
    return name in ("global", "client") or name.startswith("client.")


@dataclass
class Document:
    """A parsed file and the programs whose options it may hold (None: all)."""

    ini: IniFile
    services: frozenset[Service] | None
    used: set[tuple[str, str]] = field(default_factory=set)

    def holds(self, service: Service) -> bool:
        return self.services is None or service in self.services


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise errors.NotFound(f"configuration file {path} does not exist") from None
    except IsADirectoryError:
        raise errors.InvalidArgument(
            f"{path} is a directory: use --config-dir for a directory of files") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InvalidArgument(f"cannot read configuration file {path}: {exc}") from None


def read_file(path: Path) -> list[Document]:
    """One ``shoal.conf`` (every program's sections in one file).

    Raises:
        errors.NotFound: no such file.
        errors.InvalidArgument: unreadable or not INI (names the line).
    """
    ini = read_ini(path, _read_text(path), ceph_section=is_ceph_section)
    return [Document(ini, None)]


def read_dir(directory: Path) -> list[Document]:
    """The real files of :data:`DIR_FILES` found in ``directory`` (at least one).

    Raises:
        errors.NotFound: not a directory, or none of the files is there.
        errors.InvalidArgument: a file is unreadable or not INI.
    """
    if not directory.is_dir():
        raise errors.NotFound(f"configuration directory {directory} does not exist")
    docs = []
    for name, services in DIR_FILES:
        path = directory / name
        if path.exists():
            text = _read_text(path)
            ceph = services is not None and "ceph" in services
            ini = read_ceph(path, text) if ceph else read_ini(
                path, text, ceph_section=is_ceph_section)
            docs.append(Document(ini, services))
    if not docs:
        raise errors.NotFound(
            f"{directory} holds none of {', '.join(n for n, _ in DIR_FILES)}")
    return docs


@dataclass
class _Found:
    doc: Document
    section: str
    entry: Entry


def _find(docs: list[Document], service: Service, section: str, name: str) -> _Found | None:
    found = None
    for doc in docs:
        if not doc.holds(service):
            continue
        entry = doc.ini.sections.get(section, {}).get(name)
        if entry is not None:
            doc.used.add((section, name))
            found = _Found(doc, section, entry)
    return found


def _parse(option: Option, found: _Found, shown_section: str) -> Setting:
    entry = found.entry
    path = found.doc.ini.path
    try:
        value = option.parse(entry.value)
    except ValueError as exc:
        raise ConfigInvalid(
            f"{path}:{entry.line}: [{found.section}] {entry.written} = {entry.value!r}: {exc}",
            section=found.section, option=option.name, path=path, line=entry.line) from None
    source = Source("file", path, entry.line, found.section, entry.written)
    return Setting(shown_section, option, value, source)


class Resolver:
    """Effective settings of ``docs`` plus the warnings gathered on the way."""

    def __init__(self, docs: list[Document], environ: Mapping[str, str]) -> None:
        self.docs = docs
        self.environ = environ
        self.warnings: list[str] = []

    def plain(self, option: Option) -> Setting:
        """An option with a canonical section (not a Cinder backend option)."""
        env_name = ENV_OVERRIDES.get(option.name) if option.service == "shoal" else None
        hits = [_find(self.docs, option.service, s, n)
                for s, n in ((option.section, option.name), *option.aliases)]
        if env_name and self.environ.get(env_name):
            return self._from_env(option, env_name)
        if option.service == "ceph" and hits[0] is None:
            hits[0] = _find(self.docs, "ceph", "global", option.name)
        for index, hit in enumerate(hits):
            if hit is not None:
                setting = _parse(option, hit, option.section)
                self._note(option, hit, renamed=index > 0 and hit.entry.written != option.name)
                return setting
        return Setting(option.section, option, option.default, DEFAULT_SOURCE)

    def backend(self, option: Option, backend: str) -> Setting:
        """A Cinder backend option of backend section ``backend``."""
        hits = [_find(self.docs, "cinder", s, option.name)
                for s in (_backend_key(backend), "backend_defaults", "DEFAULT")]
        for hit in hits:
            if hit is not None:
                self._note(option, hit, renamed=False)
                return _parse(option, hit, backend)
        return Setting(backend, option, option.default, DEFAULT_SOURCE)

    def _from_env(self, option: Option, env_name: str) -> Setting:
        text = self.environ[env_name]
        try:
            value = option.parse(text)
        except ValueError as exc:
            raise ConfigInvalid(f"environment {env_name}={text!r} ([shoal] {option.name}): {exc}",
                                section="shoal", option=option.name) from None
        return Setting(option.section, option, value, Source("env", env=env_name))

    def _note(self, option: Option, hit: _Found, *, renamed: bool) -> None:
        where = f"{hit.doc.ini.path}:{hit.entry.line}"
        if option.removed:
            self.warnings.append(
                f"{where}: [{hit.section}] {hit.entry.written}: {option.removed}; ignored")
        elif renamed:
            self.warnings.append(
                f"{where}: [{hit.section}] {hit.entry.written} is an old spelling of "
                f"[{option.section}] {option.name}")

    def mark_backend_names_used(self) -> None:
        """Backend option names in [DEFAULT]/[backend_defaults] are known even without backends."""
        names = {o.name for o in OPTIONS if o.section == BACKEND}
        for doc in self.docs:
            if not doc.holds("cinder"):
                continue
            for section in ("DEFAULT", "backend_defaults"):
                for key in doc.ini.sections.get(section, {}):
                    if key in names:
                        doc.used.add((section, key))

    def unknown(self, backends: tuple[str, ...]) -> None:
        """Warn about sections and options nobody read."""
        for doc in self.docs:
            for section, entries in doc.ini.sections.items():
                if not self._section_known(doc, section, backends):
                    line = doc.ini.section_lines[section]
                    why = ("is read from shoal.conf only (one service user for every API)"
                           if section == "keystone_authtoken" else "is not read by shoal")
                    self.warnings.append(
                        f"{doc.ini.path}:{line}: section [{section}] {why}; ignored")
                    continue
                ceph = is_ceph_section(section) or doc.services == frozenset({"ceph"})
                if ceph and section != _CEPH_CHECKED:
                    continue  # of ceph.conf only [client] is checked
                for key, entry in entries.items():
                    if (section, key) not in doc.used:
                        self.warnings.append(
                            f"{doc.ini.path}:{entry.line}: unknown option [{section}] "
                            f"{entry.written}; ignored")

    @staticmethod
    def _section_known(doc: Document, section: str, backends: tuple[str, ...]) -> bool:
        if doc.services == frozenset({"ceph"}):
            return True  # a real ceph.conf: [mon], [osd], [mds.a] ... are Ceph's business
        if section == "DEFAULT":
            return doc.services is None or bool(doc.services & {"glance", "cinder", "nova"})
        service = _FIXED_SECTIONS.get(section)
        if service is None and section.startswith("client."):
            service = "ceph"
        if service is None and section in {_backend_key(b) for b in backends}:
            service = "cinder"
        return service is not None and doc.holds(service)


def resolve(docs: list[Document], environ: Mapping[str, str]) -> tuple[list[Setting], list[str]]:
    """Every effective setting of ``docs`` (Cinder backend options once per
    backend) and the warnings.

    Raises:
        ConfigInvalid: a value is invalid (names option, section, file, line).
    """
    resolver = Resolver(docs, environ)
    settings = [resolver.plain(o) for o in OPTIONS if o.section != BACKEND]
    enabled = next(s for s in settings if s.name == "enabled_backends").value
    backends = tuple(enabled) if isinstance(enabled, tuple) else ()
    if not backends and _legacy_driver(resolver):
        backends = ("DEFAULT",)
        resolver.warnings.append(
            "volume_driver is set in [DEFAULT] without enabled_backends (the pre-Ocata "
            "layout cinder refuses now): shoal serves it as the backend 'DEFAULT'; "
            "prefer enabled_backends = NAME and a [NAME] section")
    after_default = max(i for i, s in enumerate(settings) if s.section == "DEFAULT") + 1
    backend_settings: list[Setting] = []
    for backend in backends:
        if backend != "DEFAULT" and not any(
                _backend_key(backend) in d.ini.sections for d in docs if d.holds("cinder")):
            resolver.warnings.append(
                f"enabled_backends names {backend!r} but no [{backend}] section exists: "
                "it uses the defaults")
        backend_settings.extend(
            resolver.backend(o, backend) for o in OPTIONS if o.section == BACKEND)
    settings[after_default:after_default] = backend_settings
    resolver.mark_backend_names_used()
    resolver.unknown(backends)
    return settings, resolver.warnings


def _backend_key(name: str) -> str:
    """The section of backend ``name`` (oslo.config lower-cases group names)."""
    return name if name == "DEFAULT" else name.lower()


def _legacy_driver(resolver: Resolver) -> bool:
    return _find(resolver.docs, "cinder", "DEFAULT", "volume_driver") is not None


def iter_rbd_mismatch(settings: list[Setting]) -> Iterator[str]:
    """Warnings for backends whose driver shoal does not serve."""
    for s in settings:
        if s.option.section == BACKEND and s.name == "volume_driver" and s.value != _RBD_DRIVER:
            yield (f"backend [{s.section}] uses volume_driver = {s.value}: shoal serves only "
                   f"{_RBD_DRIVER}; this backend will not be served")
