"""shoal.deploy without serving: provisioning, passwords, client files, refusals."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import connect
from shoal.deploy import (
    GUIDE_POOLS,
    GUIDE_USERS,
    Login,
    UpOptions,
    openrc,
    prepare,
    provision_cluster,
)
from shoal.services.identity import DEFAULT_DOMAIN, UserRef


def test_provisioning_is_idempotent_and_keeps_an_admins_caps(data_dir: Path) -> None:
    with connect(data_dir) as admin:
        first = provision_cluster(admin, data_dir)
        assert sorted(first.created_pools) == sorted(GUIDE_POOLS)
        assert sorted(first.created_users) == sorted(GUIDE_USERS)
        admin.mon_command({"prefix": "auth caps", "entity": "client.glance",
                           "caps": ["mon", "allow r", "osd", "allow rwx pool=images"]}).check()
        second = provision_cluster(admin, data_dir)
    assert second.created_pools == [] and second.created_users == []
    assert len(second.notes) == 1 and "client.glance keeps the caps" in second.notes[0]
    assert second.keyrings == first.keyrings
    with connect(data_dir, "client.glance", keyring=first.keyrings["client.glance"]) as glance:
        glance.open_ioctx("images").write_full("x", b"ok")


def test_generated_passwords_are_kept_for_the_next_start(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text("[shoal]\nregion_name = Elsewhere\n")  # no passwords configured
    opts = UpOptions(data_dir=tmp_path / "data", config_file=conf)
    with prepare(opts) as first:
        admin = first.admin
    kept = json.loads((tmp_path / "data" / "bootstrap-passwords.json").read_text())
    assert kept == {"admin": admin.password, "demo": first.demo.password}
    with prepare(opts) as second:
        assert second.admin == admin
        user = UserRef(name="admin", domain=DEFAULT_DOMAIN)
        assert second.identity.check_password(user, admin.password)
        assert second.config.shoal.region_name == "Elsewhere"


def test_a_second_prepare_on_the_same_data_dir_is_busy(tmp_path: Path) -> None:
    opts = UpOptions(data_dir=tmp_path / "data")
    with prepare(opts), pytest.raises(errors.Busy, match="another `shoal up`"):
        prepare(opts)
    with prepare(opts):  # released on close
        pass


def test_a_configured_data_dir_that_differs_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[shoal]\ndata_dir = {tmp_path / 'elsewhere'}\n")
    monkeypatch.delenv("SHOAL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with pytest.raises(errors.InvalidArgument, match="--data-dir"):
        prepare(UpOptions(config_file=conf))


def test_openrc_quotes_values_for_the_shell(tmp_path: Path) -> None:
    login = Login("admin", "p'w $x \"y\"", "admin")
    text = openrc("http://127.0.0.1:5000/identity", login)
    rc = tmp_path / "openrc"
    rc.write_text(text)
    out = subprocess.run(["bash", "-c", f". {shlex.quote(str(rc))}; printf %s \"$OS_PASSWORD\""],
                         capture_output=True, text=True, check=True)
    assert out.stdout == login.password


def test_a_crashed_conversions_spool_files_are_removed_at_start(tmp_path: Path) -> None:
    opts = UpOptions(data_dir=tmp_path / "data")
    with prepare(opts):
        pass
    leftover = tmp_path / "data" / "image-spool" / ".tmp-upload"
    leftover.write_bytes(b"half a qcow2")
    with prepare(opts):
        assert not leftover.exists()


def test_the_databases_holding_secrets_are_private(tmp_path: Path) -> None:
    """shoal.db (password and token hashes) and mon/mon.db (cephx keys) are 0600."""
    data = tmp_path / "data"
    with prepare(UpOptions(data_dir=data)):
        files = [*data.glob("shoal.db*"), *(data / "mon").glob("mon.db*")]
        assert {f.name for f in files} >= {"shoal.db", "mon.db"}
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
            f.name: 0o600 for f in files}
