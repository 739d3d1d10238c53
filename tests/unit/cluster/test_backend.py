"""Backend selection by configuration: BackendConfig, open_session, the CLI's global options."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal import errors
from shoal.cli._common import GlobalOptions
from shoal.cluster import BackendConfig, EmbeddedSession, open_session
from shoal.cluster.backend import DEFAULT_CEPH_CONF, entity_name


@pytest.mark.parametrize(("given", "full"), [
    ("glance", "client.glance"), ("cinder-backup", "client.cinder-backup"),
    ("client.cinder", "client.cinder"), ("client.cinder-backup", "client.cinder-backup"),
    ("osd.0", "osd.0"), ("my.user", "client.my.user"),
])
def test_entity_name(given: str, full: str) -> None:
    assert entity_name(given) == full


def test_defaults_and_validation() -> None:
    config = BackendConfig()
    assert (config.backend, config.name, config.keyring) == ("embedded", "client.admin", None)
    with pytest.raises(errors.InvalidArgument, match="unknown backend 'rados'"):
        BackendConfig(backend="rados")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument, match="timeout_s"):
        BackendConfig(timeout_s=0)


def test_from_mapping() -> None:
    config = BackendConfig.from_mapping({
        "backend": "ceph", "ceph_conf": "/etc/ceph/x.conf", "user": "cinder",
        "keyring": "/etc/ceph/ceph.client.cinder.keyring", "timeout_s": "5",
    })
    assert config == BackendConfig(
        backend="ceph", ceph_conf=Path("/etc/ceph/x.conf"), name="client.cinder",
        keyring=Path("/etc/ceph/ceph.client.cinder.keyring"), timeout_s=5.0)
    assert BackendConfig.from_mapping({}) == BackendConfig()
    with pytest.raises(errors.InvalidArgument, match="unknown backend option"):
        BackendConfig.from_mapping({"rbd_user": "cinder"})
    with pytest.raises(errors.InvalidArgument, match="timeout_s must be a number"):
        BackendConfig.from_mapping({"timeout_s": "soon"})
    with pytest.raises(errors.InvalidArgument, match="unknown backend"):
        BackendConfig.from_mapping({"backend": "nfs"})


def test_ceph_conf_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CEPH_CONF", raising=False)
    assert BackendConfig(backend="ceph").resolved_ceph_conf() == DEFAULT_CEPH_CONF
    monkeypatch.setenv("CEPH_CONF", "/srv/ceph.conf")
    assert BackendConfig(backend="ceph").resolved_ceph_conf() == Path("/srv/ceph.conf")
    explicit = BackendConfig(backend="ceph", ceph_conf=Path("/x.conf"))
    assert explicit.resolved_ceph_conf() == Path("/x.conf")


def test_as_user_keeps_the_cluster() -> None:
    config = BackendConfig(backend="ceph", ceph_conf=Path("/c.conf"), keyring=Path("/admin"))
    glance = config.as_user("glance", "/etc/ceph/ceph.client.glance.keyring")
    assert (glance.backend, glance.ceph_conf) == ("ceph", Path("/c.conf"))
    assert glance.name == "client.glance"
    assert glance.keyring == Path("/etc/ceph/ceph.client.glance.keyring")
    assert config.as_user("cinder").keyring is None  # not the admin's keyring


def test_open_session_embedded_per_service_user(tmp_path: Path) -> None:
    config = BackendConfig(data_dir=tmp_path)
    with open_session(config) as admin:
        assert isinstance(admin, EmbeddedSession)
        reply = admin.mon_command({"prefix": "auth get-or-create", "entity": "client.glance",
                                   "caps": ["mon", "allow r"]}).check()
    keyring = tmp_path / "glance.keyring"
    keyring.write_bytes(reply.outbuf)
    with open_session(config, name="glance", keyring=keyring) as glance:
        assert glance.entity == "client.glance"
        assert glance.mon_command({"prefix": "osd pool create", "pool": "x"}).ret == -13
    with pytest.raises(errors.NotFound):
        open_session(config, name="cinder")


def test_open_session_ceph_without_a_conf(tmp_path: Path) -> None:
    with pytest.raises(errors.Unavailable, match=r"cannot read ceph\.conf"):
        open_session(BackendConfig(backend="ceph", ceph_conf=tmp_path / "missing.conf"))


def test_global_options_select_the_backend(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv("SHOAL_BACKEND", raising=False)
    opts = GlobalOptions(data_dir=tmp_path)
    assert opts.backend_config() == BackendConfig(data_dir=tmp_path)
    monkeypatch.setenv("SHOAL_BACKEND", "ceph")
    opts.apply("-c", "/etc/ceph/other.conf")
    opts.apply("--id", "cinder")
    opts.apply("-k", "/k")
    assert opts.backend_config() == BackendConfig(
        backend="ceph", ceph_conf=Path("/etc/ceph/other.conf"), name="client.cinder",
        keyring=Path("/k"))
    with pytest.raises(errors.InvalidArgument, match="does not support --backend ceph"):
        opts.resolved_data_dir()
    opts.apply("--backend", "embedded")  # the option wins over the environment
    assert opts.backend_config().backend == "embedded"
    assert opts.resolved_data_dir() == tmp_path
    with pytest.raises(errors.InvalidArgument):
        opts.apply("--backend", "nope")
    monkeypatch.setenv("SHOAL_BACKEND", "bogus")
    with pytest.raises(errors.InvalidArgument):
        GlobalOptions().backend_config()
