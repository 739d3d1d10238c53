"""The data directory: location, layout, ceph.conf, and race-safe creation."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import default_data_dir, ensure_data_dir, keys
from shoal.cluster._conf import normalize_key, parse_conf
from shoal.cluster._mondb import MonDB
from shoal.cluster.datadir import ADMIN_CAPS


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOAL_DATA_DIR", str(tmp_path / "env"))
    assert default_data_dir() == tmp_path / "env"
    monkeypatch.delenv("SHOAL_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "shoal"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "shoal"


def test_first_use_creates_the_layout(data_dir: Path) -> None:
    layout = ensure_data_dir(data_dir)
    assert layout.is_initialized()
    conf = layout.load_conf()
    assert conf.get("fsid") == layout.fsid()
    assert conf.get_bool("mon allow pool delete", "mon") is True
    keyring = layout.keyring_path("client.admin")
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    (entry,) = keys.parse_keyring(keyring.read_text())
    assert entry.entity == "client.admin" and dict(entry.caps) == ADMIN_CAPS
    db = MonDB(layout.mon_db_path)
    try:
        admin = db.get_entity("client.admin")
        assert admin is not None and admin.key == entry.key
        assert db.get_value("created") is not None and db.osdmap_epoch() == 1
        journal = db._query("PRAGMA journal_mode")[0][0]
        assert journal == "wal"
    finally:
        db.close()


def test_the_mon_database_is_private_like_the_keyrings(data_dir: Path) -> None:
    """mon/mon.db holds every cephx key: it and SQLite's side files are 0600."""
    old = os.umask(0o022)
    try:
        layout = ensure_data_dir(data_dir)
        db = MonDB(layout.mon_db_path)
        try:
            files = sorted(layout.mon_db_path.parent.glob("mon.db*"))
            assert {f.name for f in files} >= {"mon.db", "mon.db-wal", "mon.db-shm"}
            assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
                f.name: 0o600 for f in files}
        finally:
            db.close()
        for path in (layout.mon_db_path, layout.mon_db_path.with_name("mon.db-journal")):
            path.touch()
            path.chmod(0o644)  # as an older shoal left it
        MonDB(layout.mon_db_path).close()
        assert stat.S_IMODE(layout.mon_db_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(layout.mon_db_path.with_name("mon.db-journal").stat().st_mode) == (
            0o600)
    finally:
        os.umask(old)


def test_second_use_changes_nothing(data_dir: Path) -> None:
    first = ensure_data_dir(data_dir)
    before = (first.conf_path.read_text(), first.keyring_path("client.admin").read_text())
    second = ensure_data_dir(data_dir)
    assert (second.conf_path.read_text(),
            second.keyring_path("client.admin").read_text()) == before


def test_a_lost_admin_keyring_is_rewritten_from_the_monitor(data_dir: Path) -> None:
    layout = ensure_data_dir(data_dir)
    text = layout.keyring_path("client.admin").read_text()
    layout.keyring_path("client.admin").unlink()
    ensure_data_dir(data_dir)
    assert layout.keyring_path("client.admin").read_text() == text


CHILD = """
import sys
from pathlib import Path
from shoal.cluster import ensure_data_dir
layout = ensure_data_dir(Path(sys.argv[1]))
print(layout.fsid(), layout.keyring_path("client.admin").read_text().split()[3])
"""


def test_concurrent_initialisation_ends_with_one_fsid_and_one_key(data_dir: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(data_dir)], stdout=subprocess.PIPE,
                         text=True)
        for _ in range(6)
    ]
    outputs = {proc.communicate(timeout=60)[0] for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(outputs) == 1
    fsid = outputs.pop().split()[0]
    assert ensure_data_dir(data_dir).fsid() == fsid


def test_unwritable_location_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(errors.Unavailable, match="cannot initialise data directory"):
        ensure_data_dir(blocker / "data")


def test_missing_fsid_is_reported(data_dir: Path) -> None:
    layout = ensure_data_dir(data_dir)
    layout.conf_path.write_text("[global]\n\tfoo = bar\n")
    with pytest.raises(errors.Unavailable, match="missing or invalid fsid"):
        layout.fsid()


# --- ceph.conf ---------------------------------------------------------------------


def test_conf_syntax() -> None:
    conf = parse_conf(
        "# comment\n; other comment\n[global]\n  fsid = abc  # trailing\n"
        "[mon]\n\tmon allow_pool  delete = 'false'\n\tMon-Allow-Pool-Delete = true\n\n"
    )
    assert conf.get("fsid") == "abc"
    assert conf.get("mon_allow_pool_delete", "mon") == "false"
    assert conf.get("mon_allow_pool_delete") is None
    assert conf.get_bool("mon allow pool delete", "mon", default=True) is False
    assert conf.get_bool("absent", default=True) is True
    assert conf.sections["mon"]["mon_allow_pool_delete"].line == 6


def test_mon_section_falls_back_to_global() -> None:
    conf = parse_conf("[global]\nmon allow pool delete = true\n")
    assert conf.get_bool("mon allow pool delete", "mon") is True


def test_entity_section_falls_back_to_its_type_then_global() -> None:
    conf = parse_conf("[global]\na = g\nb = g\nc = g\n[client]\nb = c\nc = c\n"
                      "[client.glance]\nc = cg\n")
    assert [conf.get(k, "client.glance") for k in "abc"] == ["g", "c", "cg"]
    assert [conf.get(k, "client.cinder") for k in "abc"] == ["g", "c", "c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("fsid = x\nmon host = y\n", ":1: 'fsid' is outside any section"),
     ("[global]\njunk\n", ":2: cannot parse 'junk'"),
     ("[global]\nk = \"a # b\"\n", ":2: the quoted value lacks its closing"),
     ("[global]\nk = v", ":2: the file must end with a line break")],
)
def test_conf_errors(text: str, message: str) -> None:
    with pytest.raises(errors.InvalidArgument, match=message):
        parse_conf(text)


@pytest.mark.parametrize("word", ["perhaps", "yes", "on", "no", "off"])
def test_conf_bad_boolean(word: str) -> None:
    conf = parse_conf(f"[mon]\nmon allow pool delete = {word}\n")
    with pytest.raises(errors.InvalidArgument, match=r":2: mon_allow_pool_delete = .* is not a "
                                                      r"boolean"):
        conf.get_bool("mon allow pool delete", "mon")


def test_normalize_key() -> None:
    assert normalize_key(" mon allow\t pool_delete ") == "mon_allow_pool_delete"
    assert normalize_key("Mon-Allow__pool") == "Mon-Allow__pool"  # Ceph keeps case, - and __
