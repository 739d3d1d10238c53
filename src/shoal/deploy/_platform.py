"""``shoal up``'s engine: prepare a deployment, then serve its four APIs.

::

    deployment = prepare(UpOptions(data_dir=Path("/var/lib/shoal")))
    deployment.serve(ready=lambda endpoints: print(endpoints))   # until SIGINT/SIGTERM

:func:`prepare` takes the whole first-start path and is idempotent, so every later start
reuses what is there:

1. the data directory (``--data-dir``, else ``$SHOAL_DATA_DIR``, else the default) and an
   exclusive lock on it (a second ``shoal up`` on it stops with a clear error);
2. the configuration: ``--config FILE``, else ``--config-dir DIR``, else
   ``$SHOAL_CONFIG``, else ``DATA_DIR/shoal.conf``, which is written with the guide's
   configuration when missing (:func:`shoal.config.write_default`);
3. the cluster: the guide's pools, ``rbd pool init`` and cephx users with their keyrings
   in the data directory (:func:`~shoal.deploy._provision.provision_cluster`), on the
   embedded cluster of the data directory or on Ceph (``[shoal] backend = ceph``,
   ``[shoal] ceph_conf``, as ``client.admin``);
4. the database (``[shoal] database_url``, else SQLite in the data directory) migrated to
   the current schema;
5. identity: the default domain, roles, the admin and demo users and projects. Passwords
   come from ``[shoal] admin_password``/``demo_password``; when unset they are generated
   once and kept in ``DATA_DIR/bootstrap-passwords.json`` (mode 0600).

:meth:`Deployment.serve` binds the ports (``[shoal] *_port``; 0 picks a free one), writes
``clouds.yaml`` and ``openrc`` with the bound URLs, then calls ``ready``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from shoal import config as shoal_config
from shoal import errors
from shoal._time import utcnow
from shoal.api import (
    ApiSettings,
    Binding,
    IdentityTokenValidator,
    Server,
    TokenValidator,
    catalog_for,
    compute_app,
    identity_admin_routes,
    identity_app,
    identity_routes,
    image_app,
    image_routes,
    validator_from_config,
    volume_app,
)
from shoal.api.cinder.options import VolumeApiOptions
from shoal.api.cinder.routes import volume_routes
from shoal.api.glance.options import ImageApiOptions
from shoal.api.nova import (
    external_event_routes,
    flavor_routes,
    host_routes,
    keypair_routes,
    migration_routes,
    quota_set_routes,
    server_routes,
    volume_attachment_routes,
)
from shoal.cluster import (
    BackendConfig,
    Session,
    default_data_dir,
    ensure_data_dir,
    open_session,
)
from shoal.cluster.backend import entity_name
from shoal.cluster.datadir import ADMIN_ENTITY
from shoal.config import ShoalConfig
from shoal.db import Database, default_url
from shoal.deploy._clients import Login, clouds_yaml, openrc
from shoal.deploy._compute import ComputeStack, compute_stack
from shoal.deploy._files import write_private
from shoal.deploy._logging import LogOptions, LogSetup, setup_logging
from shoal.deploy._provision import ProvisionReport, keyring_path, provision_cluster
from shoal.deploy._volumes import VolumeStack, volume_stack
from shoal.services.compute import Flavors
from shoal.services.identity import IdentityService, bootstrap, generate_password
from shoal.services.image import ImageService, ImageServiceOptions
from shoal.services.image.store import RbdStore
from shoal.services.tasks import RecoveryReport, TaskRunner, owner_gone

__all__ = ["SERVICES", "Deployment", "Endpoints", "UpOptions", "prepare"]

#: The services ``shoal up`` serves, in the order it prints them.
SERVICES: tuple[str, ...] = ("identity", "image", "volume", "compute")
#: Path of each service's catalog URL under its endpoint (devstack's layout).
_CATALOG_PATHS = {"identity": "/identity", "image": "/image", "volume": "/volume/v3",
                  "compute": "/compute/v2.1"}
ENV_CONFIG = "SHOAL_CONFIG"
PASSWORDS_FILE = "bootstrap-passwords.json"
CLOUDS_FILE = "clouds.yaml"
OPENRC_FILE = "openrc"
LOCK_FILE = "shoal-up.lock"
#: How long a stop waits for running long operations (resumable ones are handed back).
TASK_SHUTDOWN_WAIT_S = 10.0

log = logging.getLogger("shoal.deploy")


@dataclass(frozen=True)
class UpOptions:
    """What the command line chose; None: the configuration's (or default) value.

    ``ports`` overrides ``[shoal] <service>_port`` per service (``{"identity": 0}``).
    ``debug`` and ``access_log`` switch on what ``[DEFAULT] debug`` and ``[shoal]
    access_log`` would. ``setup_logging``: configure the process's logging from the
    configuration (:mod:`shoal.deploy._logging`) as soon as it is read; the CLI does, an
    embedding program keeps its own.
    """

    data_dir: Path | None = None
    config_file: Path | None = None
    config_dir: Path | None = None
    backend: str | None = None
    host: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    debug: bool = False
    access_log: bool = False
    setup_logging: bool = False


@dataclass(frozen=True)
class Endpoints:
    """Where a running deployment answers.

    Attributes:
        urls: service → catalog URL (``http://127.0.0.1:5000/identity`` ...).
        clouds_yaml, openrc, config: the files written for clients and the config read.
    """

    urls: dict[str, str]
    clouds_yaml: Path
    openrc: Path
    config: list[Path]
    data_dir: Path
    backend: str


@dataclass
class Deployment:
    """A prepared deployment (see :func:`prepare`); call :meth:`serve`, then :meth:`close`."""

    data_dir: Path
    config: ShoalConfig
    config_written: Path | None
    db: Database
    identity: IdentityService
    admin: Login
    demo: Login
    provision: ProvisionReport
    tasks: TaskRunner
    recovery: RecoveryReport
    images: ImageService
    glance_session: Session
    volumes: VolumeStack | None
    flavors: Flavors
    compute: ComputeStack
    host: str
    ports: dict[str, int]
    _urls: dict[str, str]
    _catalog: dict[str, str]
    _lock_fd: int | None
    access_log: bool = False
    logs: LogSetup | None = None

    def catalog_urls(self) -> dict[str, str]:
        """service → its URL (catalogued or not), once :meth:`serve` has bound the ports
        (else empty)."""
        return dict(self._urls)

    def validator(self) -> TokenValidator:
        """How the non-identity services authenticate callers: a remote Keystone when
        ``[keystone_authtoken] auth_url`` is set, else shoal's own identity service."""
        return validator_from_config(self.config) or IdentityTokenValidator(self.identity)

    def identity_url(self) -> str | None:
        """The Keystone clients are sent to by ``WWW-Authenticate`` on a 401."""
        authtoken = self.config.keystone_authtoken
        if authtoken.enabled:
            return authtoken.public_url
        return self._urls.get("identity")

    def apps(self) -> dict[str, ASGIApp]:
        """The four ASGI apps, each with its routes and the shared edge settings."""
        shoal = self.config.shoal
        settings = ApiSettings(max_body_bytes=shoal.max_request_body_size_bytes,
                               identity_url=self.identity_url, access_log=self.access_log)
        validator = self.validator()
        return {
            # Identity's own endpoints always check tokens against its own database.
            "identity": identity_app(routes=[*identity_routes(self.identity),
                                             *identity_admin_routes(self.identity)],
                                     validator=IdentityTokenValidator(self.identity),
                                     settings=settings),
            "image": image_app(routes=image_routes(self.images,
                                                   ImageApiOptions.from_config(self.config)),
                               validator=validator, settings=settings),
            "volume": volume_app(routes=self._volume_routes(), validator=validator,
                                 settings=settings),
            "compute": compute_app(routes=self._compute_routes(), validator=validator,
                                   settings=settings),
        }

    def catalogued(self) -> frozenset[str]:
        """The services the catalog lists: those that serve their resources.

        Every service's endpoint answers its version documents, but a service whose
        resources are not served yet stays out of the catalog, so that clients never
        discover a service that answers 404 (volume: only with a backend in
        ``enabled_backends``; compute: only with guest disks in RBD, ``[libvirt]
        images_type = rbd``).
        """
        served = {"identity", "image"}
        if self.volumes is not None:
            served.add("volume")
        if self.compute.servers is not None:
            served.add("compute")
        return frozenset(served)

    def _compute_routes(self) -> list[BaseRoute]:
        routes = [*flavor_routes(self.flavors), *keypair_routes(self.compute.keypairs)]
        servers, facts = self.compute.servers, self.compute.facts
        if servers is not None and facts is not None:
            routes += [*server_routes(servers, self.compute.images, self.compute.moves),
                       *host_routes(servers, facts), *external_event_routes(servers)]
        if self.compute.moves is not None:
            routes += migration_routes(self.compute.moves)
        if self.compute.quotas is not None:
            routes += quota_set_routes(self.compute.quotas)
        if self.compute.volumes is not None:
            routes += volume_attachment_routes(self.compute.volumes)
        return routes

    def _volume_routes(self) -> list[BaseRoute]:
        if self.volumes is None:
            return []
        services = self.volumes.services
        return volume_routes(services, VolumeApiOptions.from_config(self.config),
                             services.volumes.options.quota_defaults)

    def _bound(self, server: Server) -> Endpoints:
        for name, base in server.urls.items():
            self._urls[name] = base + _CATALOG_PATHS[name]
            if name in self.catalogued():
                self._catalog[name] = self._urls[name]
        auth_url = self._urls["identity"]
        region = self.config.shoal.region_name
        clouds = self.data_dir / CLOUDS_FILE
        rc = self.data_dir / OPENRC_FILE
        write_private(clouds, clouds_yaml(auth_url, self.admin, self.demo, region))
        write_private(rc, openrc(auth_url, self.admin, region))
        log.info("shoal is up: %s", ", ".join(f"{n} {u}" for n, u in self._urls.items()))
        return Endpoints(urls=dict(self._urls), clouds_yaml=clouds, openrc=rc,
                         config=list(self.config.sources), data_dir=self.data_dir,
                         backend=self.config.shoal.backend)

    def server(self) -> Server:
        """An unstarted :class:`~shoal.api.Server` for the four apps."""
        apps = self.apps()
        return Server([Binding(name, apps[name], self.ports[name], self.host)
                       for name in SERVICES])

    def serve(self, ready: Callable[[Endpoints], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM (main thread only); ``ready`` gets the endpoints
        once every port listens and the client files are written.

        Raises:
            errors.Unavailable: a port cannot be bound.
        """
        server = self.server()

        def started(srv: Server) -> None:
            endpoints = self._bound(srv)
            if ready is not None:
                ready(endpoints)

        self.tasks.start()
        try:
            server.run(started)
        finally:
            self.tasks.shutdown(wait_s=TASK_SHUTDOWN_WAIT_S)

    def close(self) -> None:
        """Stop the task runner; release the database and the data directory lock; put
        the process's logging back as it was before :func:`prepare`."""
        self.tasks.shutdown(wait_s=TASK_SHUTDOWN_WAIT_S)
        if self.volumes is not None:
            self.volumes.close()
        self.compute.close()
        self.glance_session.shutdown()
        self.db.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if self.logs is not None:
            self.logs.close()
            self.logs = None

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _resolve_data_dir(opts: UpOptions) -> Path:
    if opts.data_dir is not None:
        return opts.data_dir.expanduser()
    return default_data_dir()


def _lock(data_dir: Path) -> int:
    """Hold ``DATA_DIR/shoal-up.lock`` for the life of the process.

    Raises:
        errors.Busy: another ``shoal up`` holds it.
    """
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise errors.Busy(f"another `shoal up` (pid {other}) is serving {data_dir}; stop it "
                          f"first, or give this one another --data-dir") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _locate_config(opts: UpOptions, data_dir: Path) -> tuple[Path | None, Path | None, bool]:
    """(file, directory, write_default) to load."""
    if opts.config_file is not None or opts.config_dir is not None:
        return opts.config_file, opts.config_dir, False
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env), None, False
    path = data_dir / shoal_config.CONFIG_FILE_NAME
    return path, None, not path.exists()


def _load(opts: UpOptions, data_dir: Path) -> tuple[ShoalConfig, Path | None]:
    file, directory, write = _locate_config(opts, data_dir)
    written = None
    if write and file is not None:
        backend = opts.backend or os.environ.get(shoal_config.ENV_OVERRIDES["backend"])
        # embedded: the services read the data directory's ceph.conf; Ceph: the guide's
        ceph_conf = "/etc/ceph/ceph.conf" if backend == "ceph" else str(data_dir / "ceph.conf")
        written = shoal_config.write_default(file, ceph_conf=ceph_conf)
    environ = dict(os.environ)
    if opts.backend is not None:
        environ[shoal_config.ENV_OVERRIDES["backend"]] = opts.backend
    return shoal_config.load_config(file=file, directory=directory, environ=environ), written


def _passwords(cfg: ShoalConfig, data_dir: Path) -> tuple[str, str]:
    """The admin and demo passwords: configured, else kept from the first start."""
    shoal = cfg.shoal
    if shoal.admin_password and shoal.demo_password:
        return shoal.admin_password, shoal.demo_password
    path = data_dir / PASSWORDS_FILE
    kept: dict[str, str] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise errors.InvalidArgument(f"{path} is not readable JSON ({exc}); remove it to "
                                         f"reset the bootstrap passwords") from None
        if isinstance(loaded, dict):
            kept = {k: v for k, v in loaded.items() if isinstance(v, str) and v}
    admin = shoal.admin_password or kept.get("admin") or generate_password()
    demo = shoal.demo_password or kept.get("demo") or generate_password()
    if kept.get("admin") != admin or kept.get("demo") != demo:
        write_private(path, json.dumps({"admin": admin, "demo": demo}, indent=2) + "\n")
    return admin, demo


def _backend(cfg: ShoalConfig, data_dir: Path, ceph_conf: str | None = None
             ) -> BackendConfig:
    """The cluster as ``client.admin``: the data directory's, or Ceph's (``ceph_conf``,
    else ``[shoal] ceph_conf``)."""
    shoal = cfg.shoal
    if shoal.backend == "ceph":
        return BackendConfig(backend="ceph", ceph_conf=Path(ceph_conf or shoal.ceph_conf),
                             name=ADMIN_ENTITY)
    ensure_data_dir(data_dir)
    return BackendConfig(backend="embedded", data_dir=data_dir, name=ADMIN_ENTITY)


def _provision(cfg: ShoalConfig, data_dir: Path) -> ProvisionReport:
    with open_session(_backend(cfg, data_dir)) as session:
        return provision_cluster(session, data_dir)


def _service_session(cfg: ShoalConfig, data_dir: Path, user: str | None,
                     ceph_conf: str) -> Session:
    """A session as a service's cephx user (``rbd_store_user`` ...; None: client.admin),
    with the keyring ``shoal up`` wrote into the data directory when there is one."""
    entity = ADMIN_ENTITY if not user else entity_name(user)
    keyring = keyring_path(data_dir, entity)
    backend = _backend(cfg, data_dir, ceph_conf or None)
    return open_session(backend, entity, keyring if keyring.exists() else None)


def _image_service(cfg: ShoalConfig, data_dir: Path, db: Database, tasks: TaskRunner
                   ) -> tuple[ImageService, Session]:
    store_cfg = cfg.glance_store
    session = _service_session(cfg, data_dir, store_cfg.rbd_store_user,
                               store_cfg.rbd_store_ceph_conf)
    try:
        store = RbdStore(session, pool=store_cfg.rbd_store_pool,
                         chunk_size_mib=store_cfg.rbd_store_chunk_size,
                         thin_provisioning=store_cfg.rbd_thin_provisioning,
                         image_size_max=cfg.glance.image_size_cap)
        spool = data_dir / "image-spool"
        spool.mkdir(mode=0o700, exist_ok=True)
        for leftover in spool.iterdir():  # a crashed conversion's files (we hold the lock)
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
        options = ImageServiceOptions(
            spool_dir=spool, convert_to=cfg.image_conversion.output_format,
            image_size_cap=cfg.glance.image_size_cap,
            hashing_algorithm=cfg.glance.hashing_algorithm)
        images = ImageService(db, store, options, owner=tasks.owner, owner_gone=owner_gone)
        images.recover_uploads()
    except BaseException:
        session.shutdown()
        raise
    return images, session


def _start_logging(opts: UpOptions, cfg: ShoalConfig) -> LogSetup | None:
    """The process's logging from ``cfg`` when ``opts`` asks for it (else None).

    Raises:
        errors.InvalidArgument: the log file cannot be opened.
    """
    if not opts.setup_logging:
        return None
    logs = setup_logging(LogOptions.from_config(cfg, debug=opts.debug))
    path = logs.options.path
    log.log(logging.INFO if path else logging.DEBUG, "shoal up: logging at %s to %s",
            logging.getLevelName(logs.options.level), path or "standard error")
    return logs


def _secrets(cfg: ShoalConfig, *passwords: str) -> list[str | None]:
    """The configured secrets log lines must not show: ``passwords``, the service
    user's password and the database URL's password."""
    url = cfg.shoal.database_url
    return [*passwords, cfg.keystone_authtoken.password, urlsplit(url).password if url else None]


def prepare(opts: UpOptions) -> Deployment:
    """Everything before serving (see the module doc). Idempotent.

    Raises:
        errors.Busy: another ``shoal up`` serves this data directory.
        shoal.config.ConfigInvalid: an invalid option (the message names it and its file).
        errors.ShoalError: the cluster or database cannot be set up (message says why).
    """
    data_dir = _resolve_data_dir(opts)
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.Unavailable(f"cannot create data directory {data_dir}: {exc}") from None
    fd = _lock(data_dir)
    with contextlib.ExitStack() as undo:  # everything made so far, undone on an error
        undo.callback(os.close, fd)
        cfg, written = _load(opts, data_dir)
        logs = _start_logging(opts, cfg)
        if logs is not None:
            undo.callback(logs.close)
        shoal = cfg.shoal
        if shoal.data_dir and opts.data_dir is None and not os.environ.get(
                shoal_config.ENV_OVERRIDES["data_dir"]):
            configured = Path(shoal.data_dir).expanduser()
            if configured.resolve() != data_dir.resolve():
                raise errors.InvalidArgument(
                    f"the configuration's [shoal] data_dir is {configured}, but shoal up "
                    f"uses {data_dir}: pass --data-dir {configured}")
        report = _provision(cfg, data_dir)
        db = Database(shoal.database_url or default_url(data_dir))
        undo.callback(db.dispose)
        db.upgrade()
        catalog: dict[str, str] = {}  # filled in once the ports are bound
        identity = IdentityService(db, token_ttl=timedelta(seconds=shoal.token_expiration_s),
                                   catalog=catalog_for(catalog, shoal.region_name))
        admin_pw, demo_pw = _passwords(cfg, data_dir)
        if logs is not None:
            logs.mask.add(*_secrets(cfg, admin_pw, demo_pw))
        bootstrap(identity, admin_password=admin_pw, demo_password=demo_pw,
                  admin_user=shoal.admin_user, admin_project=shoal.admin_project,
                  demo_user=shoal.demo_user, demo_project=shoal.demo_project)
        tasks = TaskRunner(db)
        images, glance_session = _image_service(cfg, data_dir, db, tasks)
        undo.callback(glance_session.shutdown)
        # Services register their long operations before recovery.
        volumes = volume_stack(cfg, db, tasks, images,
                               lambda user, conf: _service_session(cfg, data_dir, user, conf))
        if volumes is not None:
            undo.callback(volumes.close)
        flavors = Flavors(db, utcnow)
        flavors.seed_defaults()
        compute = compute_stack(
            cfg, db, tasks, images, flavors,
            lambda user, conf: _service_session(cfg, data_dir, user, conf or ""),
            None if volumes is None else volumes.services, data_dir)
        undo.callback(compute.close)
        recovery = tasks.recover()
        if recovery.resumed or recovery.failed or recovery.unknown:
            log.warning("interrupted operations of an earlier run: %d resumed, %d failed, %d of "
                        "unknown kinds left", len(recovery.resumed), len(recovery.failed),
                        len(recovery.unknown))
        ports = {**shoal.ports, **opts.ports}
        deployment = Deployment(
            data_dir=data_dir, config=cfg, config_written=written, db=db, identity=identity,
            admin=Login(shoal.admin_user, admin_pw, shoal.admin_project),
            demo=Login(shoal.demo_user, demo_pw, shoal.demo_project),
            provision=report, tasks=tasks, recovery=recovery, images=images,
            glance_session=glance_session, volumes=volumes, flavors=flavors, compute=compute,
            host=opts.host or shoal.host,
            ports=ports, _urls={}, _catalog=catalog, _lock_fd=fd,
            access_log=opts.access_log or shoal.access_log, logs=logs)
        undo.pop_all()  # the deployment owns them now
        return deployment
