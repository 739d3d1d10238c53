"""``shoal up``'s logging, configured as oslo.log configures an OpenStack service.

The options are oslo.log's ``[DEFAULT]`` ones, from ``shoal.conf`` or the real files:

- ``debug``: DEBUG instead of INFO (``shoal up --debug`` too);
- ``log_file`` / ``log_dir``: the file is ``log_dir/log_file`` when both are set (an
  absolute ``log_file`` stays itself), ``log_file`` alone (relative to the working
  directory), ``log_dir/shoal-up.log`` with only ``log_dir`` (oslo.log names the file after
  the program, here ``shoal up``); none: no file;
- ``use_stderr``: standard error as well as the file. With no file, shoal logs to standard
  error (oslo.log: standard output, which ``shoal up`` keeps for its endpoints).

Lines have oslo.log's shape with the request id (:class:`shoal.api.RequestFormatter`), and
never show a password or token. Chatty libraries stay at WARNING whatever ``debug`` says,
as oslo.log's ``default_log_levels`` (SQLAlchemy at INFO would log every statement with
its parameters; uvicorn at INFO, each server's start).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from shoal import errors
from shoal.api import RequestContextFilter, RequestFormatter, SecretMask
from shoal.config import ShoalConfig

__all__ = ["LOG_FILE_NAME", "LogOptions", "LogSetup", "setup_logging"]

#: oslo.log's ``<program>.log`` when only ``log_dir`` is set.
LOG_FILE_NAME = "shoal-up.log"
#: Loggers held at WARNING (oslo.log's ``default_log_levels``, for shoal's libraries).
QUIET_LOGGERS: tuple[str, ...] = (
    "sqlalchemy", "alembic", "uvicorn", "httpx", "httpcore", "multipart",
    "python_multipart", "asyncio", "urllib3",
)


@dataclass(frozen=True)
class LogOptions:
    """Where and how verbosely ``shoal up`` logs (see the module doc).

    Attributes:
        debug: DEBUG level (else INFO).
        log_file, log_dir: oslo.log's options (None: unset).
        use_stderr: also log to standard error when there is a file.
    """

    debug: bool = False
    log_file: str | None = None
    log_dir: str | None = None
    use_stderr: bool = False

    @classmethod
    def from_config(cls, config: ShoalConfig, *, debug: bool = False) -> LogOptions:
        """The ``[DEFAULT]`` logging options of ``config``; ``debug`` (the command line's
        ``--debug``) turns DEBUG on even when the configuration does not."""

        def value(name: str) -> object:
            return config.setting("DEFAULT", name).value

        log_file, log_dir = value("log_file"), value("log_dir")
        return cls(debug=debug or bool(value("debug")),
                   log_file=str(log_file) if log_file else None,
                   log_dir=str(log_dir) if log_dir else None,
                   use_stderr=bool(value("use_stderr")))

    @property
    def path(self) -> Path | None:
        """The log file, by oslo.log's rule (None: no file)."""
        if self.log_file and self.log_dir:
            return Path(self.log_dir).expanduser() / Path(self.log_file).expanduser()
        if self.log_file:
            return Path(self.log_file).expanduser()
        if self.log_dir:
            return Path(self.log_dir).expanduser() / LOG_FILE_NAME
        return None

    @property
    def level(self) -> int:
        """The root logger's level."""
        return logging.DEBUG if self.debug else logging.INFO


@dataclass
class LogSetup:
    """Logging as :func:`setup_logging` left it; :meth:`close` puts the previous back.

    ``mask`` hides registered secrets from every line (:meth:`SecretMask.add`).
    """

    options: LogOptions
    mask: SecretMask
    handlers: list[logging.Handler]
    _previous_handlers: list[logging.Handler] = field(default_factory=list)
    _previous_levels: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        """Remove and close the handlers; restore the previous handlers and levels."""
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers = []
        for handler in self._previous_handlers:
            root.addHandler(handler)
        self._previous_handlers = []
        for name, level in self._previous_levels.items():
            logging.getLogger(name or None).setLevel(level)
        self._previous_levels = {}


def _file_handler(path: Path) -> logging.Handler:
    """A handler appending to ``path``, reopening it after logrotate moves it (oslo.log's
    default, ``log_rotation_type = none``).

    Raises:
        errors.InvalidArgument: the file cannot be opened (no such directory, not
            permitted); the message names it.
    """
    try:
        return logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise errors.InvalidArgument(
            f"cannot open the log file {path} ([DEFAULT] log_file/log_dir): "
            f"{exc.strerror or exc}") from None


def setup_logging(options: LogOptions, *, stream: TextIO | None = None) -> LogSetup:
    """Send the process's logging where ``options`` say, replacing the root handlers.

    Args:
        stream: the console stream (default standard error).

    Raises:
        errors.InvalidArgument: the log file cannot be opened.
    """
    path = options.path
    handlers: list[logging.Handler] = []
    if path is not None:
        handlers.append(_file_handler(path))
    if path is None or options.use_stderr:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    mask = SecretMask()
    formatter = RequestFormatter(mask)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    setup = LogSetup(options, mask, handlers, _previous_handlers=list(root.handlers),
                     _previous_levels={"": root.level})
    for handler in setup._previous_handlers:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(options.level)
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        setup._previous_levels[name] = logger.level
        logger.setLevel(max(logger.level, logging.WARNING))
    return setup
