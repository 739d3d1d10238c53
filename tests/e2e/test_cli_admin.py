"""The guides' admin sequence, run verbatim as ``shoal`` subprocesses, and the CLI's edges."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal import errors
from shoal.cluster import EmbeddedSession, connect, keys
from tests.e2e._guide import CAPS, GUIDE, POOLS, keyring_file, provision
from tests.shoal_cli import RunShoal, run_shoal_cli


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory provisioned by the guide (shared by this module's tests)."""
    data_dir = tmp_path_factory.mktemp("guide") / "data"
    provision(data_dir)
    return data_dir


def shoal(cluster: Path, line: str) -> subprocess.CompletedProcess[str]:
    return run_shoal_cli(cluster, *shlex.split(line))


# --- the guide itself ---------------------------------------------------------------


def test_guide_runs_verbatim_with_ceph_outputs(run_shoal: RunShoal, data_dir: Path) -> None:
    for pool in POOLS:
        result = run_shoal(*shlex.split(f"ceph osd pool create {pool} 128"))
        assert (result.returncode, result.stdout, result.stderr) == (
            0, "", f"pool '{pool}' created\n")
    for pool in POOLS:
        result = run_shoal("rbd", "pool", "init", pool)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    for line in GUIDE[8:]:
        result = run_shoal(*shlex.split(line))
        entity = shlex.split(line)[3]
        assert result.returncode == 0 and result.stderr == ""
        (entry,) = keys.parse_keyring(result.stdout)
        assert result.stdout == f"[{entity}]\n\tkey = {entry.key}\n"
    again = run_shoal(*shlex.split(GUIDE[0]))
    assert (again.returncode, again.stderr) == (0, "pool 'volumes' already exists\n")


def test_keyring_files_and_keys(cluster: Path) -> None:
    for entity in CAPS:
        path = keyring_file(cluster, entity)
        (entry,) = keys.parse_keyring(path.read_text())
        assert path.read_text() == f"[{entity}]\n\tkey = {entry.key}\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = shoal(cluster, "ceph auth get-key client.cinder")
    (cinder,) = keys.parse_keyring(keyring_file(cluster, "client.cinder").read_text())
    assert (result.returncode, result.stdout, result.stderr) == (0, cinder.key, "")


def test_auth_get_shows_the_exact_caps(cluster: Path) -> None:
    result = shoal(cluster, "ceph auth get client.cinder")
    (cinder,) = keys.parse_keyring(keyring_file(cluster, "client.cinder").read_text())
    assert result.returncode == 0
    assert result.stdout == (
        f"[client.cinder]\n\tkey = {cinder.key}\n\tcaps mon = \"allow r\"\n"
        f"\tcaps osd = \"{CAPS['client.cinder']}\"\n")
    assert result.stderr == "exported keyring for client.cinder\n"


def test_pools_are_rbd_pools(cluster: Path) -> None:
    assert shoal(cluster, "ceph osd pool ls").stdout == "volumes\nimages\nbackups\nvms\n"
    assert shoal(cluster, "ceph osd lspools").stdout == "1 volumes\n2 images\n3 backups\n4 vms"
    for pool in POOLS:
        result = shoal(cluster, f"ceph osd pool application get {pool}")
        assert json.loads(result.stdout) == {"rbd": {}}
        assert shoal(cluster, f"ceph osd pool get {pool} pg_num").stdout == "pg_num: 128\n"
    detail = shoal(cluster, "ceph osd pool ls detail").stdout.splitlines()
    assert detail[0].startswith("pool 1 'volumes' replicated size 1 min_size 1 crush_rule 0")
    assert all(line.endswith("application rbd") for line in detail[:4])
    with connect(cluster) as admin, admin.open_ioctx("vms") as io:
        assert io.read("rbd_info") == b"overwrite validated"


def test_df_and_status(cluster: Path) -> None:
    df = shoal(cluster, "ceph df")
    assert df.returncode == 0
    lines = df.stdout.splitlines()
    assert lines[0] == "--- RAW STORAGE ---" and lines[4] == "--- POOLS ---"
    assert [line.split()[0] for line in lines[6:]] == list(POOLS)
    as_json = shoal(cluster, "ceph df --format json")
    assert as_json.stdout.startswith("\n{")  # ceph's blank line before JSON
    assert [p["name"] for p in json.loads(as_json.stdout)["pools"]] == list(POOLS)
    assert "health: HEALTH_OK" in shoal(cluster, "ceph status").stdout
    assert shoal(cluster, "ceph -s").stdout == shoal(cluster, "ceph status").stdout
    assert shoal(cluster, "ceph health").stdout == "HEALTH_OK\n"


def test_fsid_and_mon_dump_for_cinder(cluster: Path) -> None:
    fsid = shoal(cluster, "ceph fsid").stdout
    assert fsid == connect(cluster).get_fsid()
    dump = shoal(cluster, "ceph mon dump --format=json --id cinder")
    assert dump.returncode == 0 and dump.stderr == "dumped monmap epoch 1\n"
    monmap = json.loads(dump.stdout)
    assert monmap["fsid"] == fsid and monmap["mons"][0]["addr"] == "127.0.0.1:6789/0"


# --- identities and caps -------------------------------------------------------------


@pytest.mark.parametrize(
    "identity",
    ["--id cinder", "--name client.cinder", "-n client.cinder",
     "--id cinder --keyring {dir}/ceph.client.cinder.keyring", "--user cinder"],
)
def test_cinder_may_read_but_not_administer(cluster: Path, identity: str) -> None:
    ident = identity.format(dir=cluster)
    assert shoal(cluster, f"ceph {ident} osd pool ls").returncode == 0
    created = shoal(cluster, f"ceph {ident} osd pool create extra 8")
    assert (created.returncode, created.stdout, created.stderr) == (
        13, "", "Error EACCES: access denied\n")
    made = shoal(cluster, f"ceph auth get-or-create client.x {ident}")
    assert (made.returncode, made.stderr) == (13, "Error EACCES: access denied\n")


def test_global_options_before_the_group(cluster: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    result = run_shoal_cli(other, "--data-dir", str(cluster), "--id", "cinder", "ceph",
                           "osd", "pool", "ls")
    assert result.stdout == "volumes\nimages\nbackups\nvms\n"
    conf = run_shoal_cli(other, "ceph", "-c", str(cluster / "ceph.conf"), "osd", "pool", "ls")
    assert conf.stdout == "volumes\nimages\nbackups\nvms\n"
    assert not other.exists()


def test_wrong_key_is_refused(cluster: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.keyring"
    bad.write_text(keys.format_keyring(
        [keys.KeyringEntry("client.cinder", keys.generate_secret())]))
    result = shoal(cluster, f"ceph --id cinder --keyring {bad} osd pool ls")
    assert (result.returncode, result.stdout, result.stderr) == (
        13, "", "[errno 13] RADOS permission denied (error connecting to the cluster)\n")
    rbd = shoal(cluster, f"rbd pool init volumes --id cinder --keyring {bad}")
    assert rbd.returncode == 13
    assert rbd.stderr.endswith("rbd: couldn't connect to the cluster!\n")


def test_unknown_user_has_no_keyring(cluster: Path) -> None:
    result = shoal(cluster, "ceph --id nobody osd pool ls")
    assert result.returncode == 1
    assert "unable to find a keyring for client.nobody" in result.stderr
    assert result.stderr.endswith(
        "[errno 2] RADOS object not found (error connecting to the cluster)\n")


def test_changing_caps_is_refused_by_get_or_create(cluster: Path) -> None:
    result = shoal(cluster, "ceph auth get-or-create client.cinder mon 'allow rw'")
    assert (result.returncode, result.stdout, result.stderr) == (
        22, "", "Error EINVAL: key for client.cinder exists but cap mon does not match\n")


# --- mistakes ------------------------------------------------------------------------


def test_pool_delete_interlock(run_shoal: RunShoal) -> None:
    run_shoal("ceph", "osd", "pool", "create", "scratch")
    refused = run_shoal("ceph", "osd", "pool", "delete", "scratch")
    assert refused.returncode == 1
    assert refused.stderr == (
        "Error EPERM: WARNING: this will *PERMANENTLY DESTROY* all data stored in pool "
        "scratch.  If you are *ABSOLUTELY CERTAIN* that is what you want, pass the pool name "
        "*twice*, followed by --yes-i-really-really-mean-it.\n")
    line = "ceph osd pool delete scratch scratch --yes-i-really-really-mean-it"
    removed = run_shoal(*shlex.split(line))
    assert (removed.returncode, removed.stderr) == (0, "pool 'scratch' removed\n")
    again = run_shoal(*shlex.split(line))
    assert (again.returncode, again.stderr) == (0, "pool 'scratch' does not exist\n")


@pytest.mark.parametrize(
    ("line", "status", "stderr_has"),
    [
        ("ceph osd pool frobnicate", 22, "no valid command found; "),
        ("ceph osd pool create", 22, "Invalid command: missing required parameter pool"),
        ("ceph osd pool create p 12x", 2, "Error ENOENT: specified rule 12x doesn't exist"),
        ("ceph osd pool create p 8 16", 34, "Error ERANGE: 'pgp_num' must be greater"),
        ("ceph osd pool ls detail extra", 22, "Error EINVAL: invalid command"),
        ("ceph osd pool create .p", 22, "Error EINVAL: pool names beginning with ."),
        ("ceph osd pool get nope size", 2, "Error ENOENT: unrecognized pool 'nope'"),
        ("ceph osd pool create p 99999", 34, "Error ERANGE: 'pg_num' must be greater"),
        ("ceph", 22, "no command given"),
        ("ceph fsid --format xml", 22, "invalid format 'xml'"),
        ("ceph fsid -o", 22, "option -o needs a value"),
        ("ceph auth import -i /nonexistent/file", 1, "Can't open input file"),
        ("rbd pool init nope", 2,
         "rbd: error opening pool 'nope': (2) No such file or directory"),
    ],
)
def test_bad_input_gets_a_clear_error_not_a_traceback(
    run_shoal: RunShoal, line: str, status: int, stderr_has: str
) -> None:
    result = run_shoal(*shlex.split(line))
    assert result.returncode == status, result.stderr
    assert stderr_has in result.stderr
    assert "Traceback" not in result.stderr


def test_help(run_shoal: RunShoal, data_dir: Path) -> None:
    top = run_shoal("--help")
    assert top.returncode == 0 and "ceph" in top.stdout and "rbd" in top.stdout
    assert "--data-dir" in top.stdout
    ceph = run_shoal("ceph", "--help")
    assert "osd pool create <pool> [<pg_num:int>]" in ceph.stdout
    assert max(len(line) for line in ceph.stdout.splitlines()) <= 80  # not a terminal: 80
    assert "fsid                                    show cluster FSID/UUID" in ceph.stdout
    narrowed = run_shoal("ceph", "auth", "-h")
    assert "auth get-or-create" in narrowed.stdout and "osd pool" not in narrowed.stdout
    assert run_shoal("rbd", "pool", "init", "--help").returncode == 0
    assert not data_dir.exists()  # help never creates the data directory


def test_auth_import_and_output_files(run_shoal: RunShoal, tmp_path: Path) -> None:
    ring = tmp_path / "in.keyring"
    key = keys.generate_secret()
    ring.write_text(keys.format_keyring(
        [keys.KeyringEntry("client.imported", key, {"mon": "allow r"})]))
    imported = run_shoal("ceph", "auth", "import", "-i", str(ring))
    assert (imported.returncode, imported.stderr) == (0, "imported keyring\n")
    out = tmp_path / "out.json"
    got = run_shoal("ceph", "auth", "get", "client.imported", "--format=json", "-o", str(out))
    assert got.returncode == 0 and got.stdout == ""
    assert json.loads(out.read_text()) == [
        {"entity": "client.imported", "key": key, "caps": {"mon": "allow r"}}]
    piped = run_shoal("ceph", "auth", "import", "-i", "-", input=ring.read_text())
    assert piped.returncode == 0


def test_rbd_pool_init_with_another_application(run_shoal: RunShoal) -> None:
    run_shoal("ceph", "osd", "pool", "create", "objects")
    run_shoal("ceph", "osd", "pool", "application", "enable", "objects", "rgw")
    refused = run_shoal("rbd", "pool", "init", "objects")
    assert (refused.returncode, refused.stderr) == (
        1, "rbd: pool already registered to a different application.\n")
    forced = run_shoal("rbd", "pool", "init", "--pool", "objects", "--force")
    assert forced.returncode == 0


# --- the guide's users as library sessions ----------------------------------------------


@pytest.fixture
def cinder(cluster: Path) -> Iterator[EmbeddedSession]:
    with connect(cluster, "client.cinder",
                 keyring=keyring_file(cluster, "client.cinder")) as session:
        yield session


def test_cinder_session_writes_volumes_reads_images(cluster: Path,
                                                    cinder: EmbeddedSession) -> None:
    with connect(cluster) as admin:
        with admin.open_ioctx("images") as io:
            io.write_full("image-data", b"glance wrote this")
        for pool in POOLS:
            with admin.open_ioctx(pool) as io:
                io.write_full("rbd_children", b"")
    with cinder.open_ioctx("volumes") as io:
        io.write_full("volume-1", b"cinder data")
        assert io.read("volume-1") == b"cinder data"
    with cinder.open_ioctx("images") as io:
        assert io.read("image-data") == b"glance wrote this"
        with pytest.raises(errors.PermissionDenied):
            io.write_full("image-data", b"overwrite")
    for pool in POOLS:
        with cinder.open_ioctx(pool) as io:
            assert io.execute("rbd_children", "hello", "say_hello") == b"Hello, world!"


def test_glance_cannot_touch_volumes(cluster: Path) -> None:
    with connect(cluster, "client.glance") as glance, glance.open_ioctx("volumes") as io:
        with pytest.raises(errors.PermissionDenied):
            io.read("volume-1")
        with pytest.raises(errors.PermissionDenied):
            io.write_full("x", b"x")


def test_wrong_key_session_is_refused(cluster: Path) -> None:
    with pytest.raises(errors.AuthenticationFailed):
        connect(cluster, "client.cinder", key=keys.generate_secret())
