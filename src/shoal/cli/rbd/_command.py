"""The preamble every ``shoal rbd`` command shares, written once: :func:`rbd_command`.

``@rbd_command(name, metavar, spec=..., path=..., progress=True)`` makes a function a
click command (:class:`~shoal.cli.rbd._common.RbdCommand`) taking the positional words,
the ``--pool/--namespace/--image[/--snap]`` options of ``spec``, ``--path`` and
``--no-progress`` when asked for, and the global options. Before the function runs it
reads the spec as ``rbd`` does (``utils::get_pool_image_snapshot_names``: options, then
the next word, then ``rbd_default_pool``), takes the path word before or after it, and
refuses words left over (``too many arguments``, exit 1); the function gets a
:class:`Run` (the caller's options, the spec, the path) and its own options::

    @rbd_command("flatten", "IMAGE_SPEC", progress=True)
    def flatten(run: Run) -> None:
        \"\"\"Fill clone with parent data (make it independent).\"\"\"
        with run.image() as (_s, _io, img), run.progress("Image flatten", "flatten error") as p:
            img.flatten(on_progress=p.update)

Nothing connects before the function asks (:meth:`Run.image`, :meth:`Run.pool`), so a
bad value is refused first, as ``rbd`` refuses it before ``init_rados``. Commands whose
words are not one image spec (``ls [pool]``, ``rename SRC DST``, ``trash rm ID``) pass
``spec=None``: their own options arrive untouched, and they read :attr:`Run.words`
themselves and call ``run.words.finish()``.
"""

from __future__ import annotations

import errno as _errno
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

import click

from shoal import errors
from shoal.cli._common import GlobalOptions, global_options
from shoal.cli.rbd._args import (
    ImageSpec,
    Positionals,
    Presence,
    Validation,
    image_spec_options,
    no_progress_option,
    pool_and_namespace,
    pool_options,
    resolve_spec,
)
from shoal.cli.rbd._common import (
    RbdCommand,
    connected_image,
    connected_pool,
    default_pool,
    die,
    fail,
    rbd_engine,
    strerror,
)
from shoal.cli.rbd._fmt import Progress
from shoal.cluster import Session
from shoal.objstore import IoCtx
from shoal.rbd import RBD, Image

__all__ = ["IMAGE", "IMAGE_OR_SNAP", "POOL", "SNAP", "Run", "SpecRule", "rbd_command"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SpecRule:
    """How a command reads its ``[pool/[namespace/]]image[@snap]`` (``pool_only``: its
    ``[pool[/namespace]]``, ``utils::get_pool_and_namespace_names``, as ``rbd ls``).

    ``required`` decides from the command's own options whether the image name must be
    given (None: always); ``rbd info --image-id`` and ``rbd du`` need none.
    """

    presence: Presence = Presence.NONE
    validation: Validation = Validation.NONE
    required: Callable[[Mapping[str, Any]], bool] | None = None
    pool_only: bool = False


#: An image, no snapshot (``IMAGE_SPEC``).
IMAGE = SpecRule()
#: An image, a snapshot if given (``IMAGE_OR_SNAP_SPEC``).
IMAGE_OR_SNAP = SpecRule(Presence.PERMITTED)
#: An image's snapshot (``SNAP_SPEC``).
SNAP = SpecRule(Presence.REQUIRED)
#: A pool and namespace (``[POOL_SPEC]``), the spec's image empty.
POOL = SpecRule(pool_only=True)

#: ``--path`` help, by where the path word comes: ``export SPEC PATH`` writes a file,
#: ``import-diff PATH SPEC`` reads one.
_PATH_HELP = {"after": "Export file (or '-' for stdout).",
              "before": "Import file (or '-' for stdin)."}


def take_path(words: Positionals, option: str | None) -> str:
    """``utils::get_path``: the next positional word, else ``--path`` (missing: EINVAL)."""
    path = words.take() or option or ""
    if not path:
        die("path was not specified", _errno.EINVAL)
    return path


@dataclass
class Run:
    """One invocation of an ``rbd`` command.

    ``spec`` is the image spec read by the command's :class:`SpecRule` (None for
    ``spec=None`` commands), ``path`` the path word (``""`` when the command takes
    none), ``words`` what is left of the positional words.
    """

    obj: GlobalOptions
    words: Positionals
    spec: ImageSpec | None
    path: str
    show_progress: bool

    @functools.cached_property
    def default_pool(self) -> str:
        """``rbd_default_pool`` from ceph.conf, else ``rbd``."""
        return default_pool(self.obj)

    @property
    def image_spec(self) -> ImageSpec:
        assert self.spec is not None, "a spec=None command has no image spec"
        return self.spec

    def pool(self, pool: str | None = None,
             namespace: str | None = None) -> AbstractContextManager[tuple[Session, IoCtx]]:
        """The session and an I/O context on ``pool``/``namespace`` (default: the spec's);
        exits as ``rbd`` does when either cannot be opened."""
        if pool is None:
            pool, namespace = self.image_spec.pool, self.image_spec.namespace
        return connected_pool(self.obj, pool, namespace or "")

    def image(self, spec: ImageSpec | None = None, *, at_snap: bool = False,
              read_only: bool = False) -> AbstractContextManager[tuple[Session, IoCtx, Image]]:
        """Session, pool and the image of ``spec`` (default: the command's), open at the
        head (``at_snap``: at the spec's snapshot, read-only, when it names one); all
        closed afterwards; exits as ``rbd`` does when one cannot be opened."""
        spec = spec or self.image_spec
        return connected_image(self.obj, spec.pool, spec.namespace, spec.image,
                               snap=(spec.snap or None) if at_snap else None,
                               read_only=read_only)

    def engine(self, entity: str) -> RBD:
        """The pool-level ``RBD`` with librbd's defaults from ceph.conf."""
        return rbd_engine(self.obj, entity)

    @contextmanager
    def progress(self, operation: str,
                 error: str | Callable[[errors.ShoalError], NoReturn]) -> Iterator[Progress]:
        """``utils::ProgressContext`` around one operation (``--no-progress``: silent).

        The block's end prints ``done``. A :class:`~shoal.errors.ShoalError` out of it
        prints ``failed``, then ``rbd: <error>: (errno) text`` and exits with the errno
        (``error`` may instead be a function reporting and exiting itself); an OSError
        (the file or pipe of export/import) does the same with its errno.
        """
        progress = Progress(operation, self.show_progress)
        try:
            yield progress
        except errors.ShoalError as exc:
            progress.fail()
            if callable(error):
                error(exc)
            fail(error, exc)
        except OSError as exc:
            progress.fail()
            code = exc.errno or _errno.EIO
            die(f"{error if isinstance(error, str) else 'error'}: {strerror(code)}", code)
        progress.finish()


def _read(rule: SpecRule | None, path: Literal["before", "after"] | None,
          run_words: Positionals, options: dict[str, Any],
          obj: GlobalOptions) -> tuple[ImageSpec | None, str]:
    """The spec and the path from the words, in the command's order."""
    path_opt = options.pop("path_opt", None)
    found = ""
    if path == "before":
        found = take_path(run_words, path_opt)
    spec = None
    if rule is not None and rule.pool_only:
        pool, namespace = pool_and_namespace(run_words, options.pop("pool"),
                                             options.pop("namespace"), default_pool(obj))
        spec = ImageSpec(pool, namespace, "", "")
    elif rule is not None:
        required = rule.required(options) if rule.required is not None else True
        spec = resolve_spec(run_words, pool=options.pop("pool"),
                            namespace=options.pop("namespace"), image=options.pop("image"),
                            snap=options.pop("snap", None), default_pool=default_pool(obj),
                            presence=rule.presence, validation=rule.validation,
                            required=required)
    if path == "after":
        found = take_path(run_words, path_opt)
    if rule is not None:
        run_words.finish()
    return spec, found


def rbd_command(name: str, metavar: str, *, spec: SpecRule | None = IMAGE,
                path: Literal["before", "after"] | None = None,
                progress: bool = False) -> Callable[[Callable[..., None]], click.Command]:
    """Make ``fn(run: Run, **its_options)`` the ``rbd`` command ``name`` (see the module
    docstring). ``metavar`` names the positional words in the usage line; ``fn``'s
    docstring is the command's help. The options ``fn`` declares itself
    (``@click.option`` below this decorator) follow the spec, path and progress
    options in the help."""

    def decorate(fn: Callable[..., None]) -> click.Command:
        @functools.wraps(fn)
        def command(obj: GlobalOptions, /, words: tuple[str, ...], **options: Any) -> None:
            no_progress = bool(options.pop("no_progress", False))
            run_words = Positionals(words)
            found_spec, found_path = _read(spec, path, run_words, options, obj)
            fn(Run(obj, run_words, found_spec, found_path, not no_progress), **options)

        decorated: Callable[..., Any] = click.pass_obj(global_options(command))
        if progress:
            decorated = no_progress_option(decorated)
        if path is not None:
            decorated = click.option("--path", "path_opt", metavar="PATH",
                                     help=_PATH_HELP[path])(decorated)
        if spec is not None and spec.pool_only:
            decorated = pool_options(decorated)
        elif spec is not None:
            decorated = image_spec_options(snap=spec.presence is not Presence.NONE)(decorated)
        decorated = click.argument("words", nargs=-1, metavar=metavar)(decorated)
        return click.command(name, cls=RbdCommand)(decorated)

    return decorate
