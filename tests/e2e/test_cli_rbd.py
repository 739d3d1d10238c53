"""``shoal rbd`` image, snapshot, clone and trash commands, run as real subprocesses.

Output is read in text mode, where ``rbd``'s progress lines (``\\r...done.``)
arrive with the carriage return turned into a newline.

The data directory is provisioned by the guide (pools, ``rbd pool init``, the
cinder/glance/cinder-backup users and their keyrings); every command runs as
the user the guide's services run as, so their caps apply. Outputs are compared
with what Ceph 16's ``rbd`` prints (``src/tools/rbd/action/*.cc``).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e._guide import provision
from tests.shoal_cli import run_shoal_cli

#: ``ctime()`` without the newline: ``Thu Jul  4 17:06:30 2019``.
CTIME = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}"
FEATURES = "layering, exclusive-lock, object-map, fast-diff, deep-flatten"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("rbd") / "data"
    provision(data_dir)
    return data_dir


def rbd(cluster: Path, line: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_shoal_cli(cluster, "rbd", *shlex.split(line), input=input)


def ok(cluster: Path, line: str) -> str:
    result = rbd(cluster, line)
    assert result.returncode == 0, (line, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def new_pool(cluster: Path, name: str) -> None:
    assert run_shoal_cli(cluster, "ceph", "osd", "pool", "create", name, "8").returncode == 0
    ok(cluster, f"pool init {name}")


def ctime_age(text: str) -> float:
    return abs(time.time() - time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Y")))


# --- the guide's flow ----------------------------------------------------------------


def test_guide_flow_glance_image_cinder_clone(cluster: Path) -> None:
    image = "a6f31c31-9608-4a3b-8695-ef220bcb4608"
    volume = "volume-1c738e51-7520-43a5-9c21-654b66c5772c"
    ok(cluster, f"create --size 8G images/{image} --id glance")
    assert rbd(cluster, f"snap create images/{image}@snap --id glance").stderr == (
        "\nCreating snap: 100% complete...done.\n")
    ok(cluster, f"snap protect images/{image}@snap --id glance")
    ok(cluster, f"clone images/{image}@snap volumes/{volume} --id cinder")
    ok(cluster, f"resize --size 10G volumes/{volume} --id cinder --no-progress")

    assert image in ok(cluster, "ls images --id glance").splitlines()
    assert volume in ok(cluster, "ls volumes --id cinder").splitlines()
    lines = ok(cluster, f"info volumes/{volume} --id cinder").splitlines()
    assert lines[0] == f"rbd image '{volume}':"
    assert lines[1] == "\tsize 10 GiB in 2560 objects"
    assert lines[-2:] == [f"\tparent: images/{image}@snap", "\toverlap: 8 GiB"]

    snaps = ok(cluster, f"snap ls images/{image} --id glance").splitlines()
    assert re.fullmatch(r"SNAPID  NAME  SIZE   PROTECTED  TIMESTAMP {15}", snaps[0])
    assert re.fullmatch(rf" +\d+  snap  8 GiB  yes        {CTIME}", snaps[1])
    assert ok(cluster, f"children images/{image}@snap") == f"volumes/{volume}\n"
    assert ok(cluster, f"children images/{image}@snap --id cinder") == f"volumes/{volume}\n"

    busy = rbd(cluster, f"snap unprotect images/{image}@snap --id glance")
    assert busy.returncode == 16
    assert busy.stderr.endswith("rbd: unprotecting snap failed: (16) Device or resource busy\n")

    flat = rbd(cluster, f"flatten volumes/{volume} --id cinder")
    assert (flat.returncode, flat.stderr) == (0, "\nImage flatten: 100% complete...done.\n")
    info = ok(cluster, f"info volumes/{volume} --id cinder")
    assert "parent:" not in info and "overlap:" not in info
    assert ok(cluster, f"children images/{image}@snap") == ""

    ok(cluster, f"snap unprotect images/{image}@snap --id glance")
    ok(cluster, f"snap rm images/{image}@snap --id glance --no-progress")
    removed = rbd(cluster, f"rm images/{image} --id glance")
    assert (removed.returncode, removed.stderr) == (0, "\nRemoving image: 100% complete...done.\n")
    ok(cluster, f"rm volumes/{volume} --id cinder --no-progress")
    assert image not in ok(cluster, "ls images").splitlines()


# --- rbd info ---------------------------------------------------------------------------


def test_info_layout_line_by_line(cluster: Path) -> None:
    ok(cluster, "create --size 10G volumes/layout")
    lines = ok(cluster, "info volumes/layout").split("\n")
    assert lines[-1] == ""
    image_id = re.fullmatch(r"\tid: ([0-9a-f]+)", lines[4])
    assert image_id is not None
    assert lines[:4] == ["rbd image 'layout':", "\tsize 10 GiB in 2560 objects",
                         "\torder 22 (4 MiB objects)", "\tsnapshot_count: 0"]
    assert lines[5:10] == [f"\tblock_name_prefix: rbd_data.{image_id.group(1)}", "\tformat: 2",
                           f"\tfeatures: {FEATURES}", "\top_features: ", "\tflags: "]
    for line, key in zip(lines[10:13], ("create", "access", "modify"), strict=True):
        stamp = re.fullmatch(rf"\t{key}_timestamp: ({CTIME})", line)
        assert stamp is not None, line
        assert ctime_age(stamp.group(1)) < 300
    assert len(lines) == 14


def test_info_of_snapshot_clone_and_striped_image(cluster: Path) -> None:
    ok(cluster, "create --size 1G --image-feature layering,exclusive-lock volumes/lean")
    assert "\tfeatures: layering, exclusive-lock\n" in ok(cluster, "info volumes/lean")
    ok(cluster, "snap create --no-progress volumes/lean@s")
    at_snap = ok(cluster, "info volumes/lean@s").splitlines()
    assert at_snap[3] == "\tsnapshot_count: 1"
    assert at_snap[-1] == "\tprotected: False"
    ok(cluster, "snap protect volumes/lean@s")
    assert ok(cluster, "info volumes/lean@s").splitlines()[-1] == "\tprotected: True"
    ok(cluster, "clone volumes/lean@s vms/lean-child --image-feature layering")
    child = ok(cluster, "info --pool vms --image lean-child").splitlines()
    assert child[-2:] == ["\tparent: volumes/lean@s", "\toverlap: 1 GiB"]
    ok(cluster, "create -s 512M --stripe-unit 64K --stripe-count 4 volumes/striped")
    striped = ok(cluster, "info volumes/striped").splitlines()
    assert "striping" in striped[7]
    assert striped[-2:] == ["\tstripe unit: 64 KiB", "\tstripe count: 4"]
    assert striped[1:3] == ["\tsize 512 MiB in 128 objects", "\torder 22 (4 MiB objects)"]


def test_info_json_and_xml(cluster: Path) -> None:
    ok(cluster, "create --size 2G --object-size 8M volumes/fmt")
    ok(cluster, "snap create --no-progress volumes/fmt@one")
    ok(cluster, "snap protect volumes/fmt@one")
    ok(cluster, "clone volumes/fmt@one volumes/fmt-child")
    plain = json.loads(ok(cluster, "info volumes/fmt --format json"))
    assert list(plain) == [
        "name", "id", "size", "objects", "order", "object_size", "snapshot_count",
        "block_name_prefix", "format", "features", "op_features", "flags",
        "create_timestamp", "access_timestamp", "modify_timestamp"]
    assert plain["size"] == 2 << 30 and plain["order"] == 23 and plain["objects"] == 256
    assert plain["features"] == FEATURES.split(", ") and plain["flags"] == []
    assert plain["block_name_prefix"] == f"rbd_data.{plain['id']}"
    snap = json.loads(ok(cluster, "info volumes/fmt@one --format json --pretty-format"))
    assert snap["protected"] == "true" and snap["snapshot_count"] == 1
    child = json.loads(ok(cluster, "info volumes/fmt-child --format=json"))
    assert child["parent"] == {"pool": "volumes", "pool_namespace": "", "image": "fmt",
                               "id": plain["id"], "snapshot": "one", "trash": False,
                               "overlap": 2 << 30}
    compact = rbd(cluster, "info volumes/fmt --format json").stdout
    assert compact.startswith('{"name":"fmt","id":') and compact.endswith("}\n")
    root = ET.fromstring(ok(cluster, "info volumes/fmt-child --format xml"))
    assert root.tag == "image" and root.findtext("name") == "fmt-child"
    assert [f.text for f in root.iter("feature")] == FEATURES.split(", ")
    assert root.findtext("parent/overlap") == str(2 << 30)
    pretty = ok(cluster, "info volumes/fmt --format xml --pretty-format")
    assert pretty.startswith("<image>\n <name>fmt</name>\n")


# --- ls, snap ls, du ---------------------------------------------------------------


def test_ls_long_layout(cluster: Path) -> None:
    new_pool(cluster, "lsl")
    ok(cluster, "create -s 1024 lsl/foo")
    ok(cluster, "create -s 512 lsl/bar")
    ok(cluster, "snap create --no-progress lsl/bar@snap")
    ok(cluster, "snap protect lsl/bar@snap")
    ok(cluster, "resize -s 1024 --no-progress lsl/bar")
    ok(cluster, "snap create --no-progress lsl/bar@snap2")
    ok(cluster, "clone lsl/bar@snap lsl/child")
    assert ok(cluster, "ls lsl") == "bar\nchild\nfoo\n"
    assert ok(cluster, "ls -p lsl --format json") == '["bar","child","foo"]\n'
    assert ok(cluster, "ls -l lsl") == (
        "NAME       SIZE     PARENT        FMT  PROT  LOCK\n"
        "bar          1 GiB                  2            \n"
        "bar@snap   512 MiB                  2  yes       \n"
        "bar@snap2    1 GiB                  2            \n"
        "child      512 MiB  lsl/bar@snap    2            \n"
        "foo          1 GiB                  2            \n")
    entries = json.loads(ok(cluster, "ls -l lsl --format json"))
    assert entries[1] == {"image": "bar", "id": entries[0]["id"], "snapshot": "snap",
                          "snapshot_id": entries[1]["snapshot_id"], "size": 512 << 20,
                          "format": 2, "protected": "true"}
    assert entries[3]["parent"] == {"pool": "lsl", "pool_namespace": "", "image": "bar",
                                    "snapshot": "snap"}
    xml = ET.fromstring(ok(cluster, "ls -l lsl --format xml"))
    assert [e.tag for e in xml] == ["image", "snapshot", "snapshot", "image", "image"]
    assert ok(cluster, "ls lsl --format xml") == (
        "<images><name>bar</name><name>child</name><name>foo</name></images>\n")


def test_snap_ls_and_snapshot_commands(cluster: Path) -> None:
    ok(cluster, "create -s 64M volumes/snappy")
    for name in ("one", "two", "three"):
        ok(cluster, f"snap create --no-progress volumes/snappy@{name}")
    ok(cluster, "snap protect volumes/snappy@two")
    table = ok(cluster, "snap ls volumes/snappy").splitlines()
    assert re.fullmatch(r"SNAPID  NAME   SIZE    PROTECTED  TIMESTAMP {15}", table[0])
    assert [line.split()[1] for line in table[1:]] == ["one", "two", "three"]
    assert re.fullmatch(rf" +\d+  two    64 MiB  yes        {CTIME}", table[2])
    listed = json.loads(ok(cluster, "snap list volumes/snappy --format json"))
    assert [s["name"] for s in listed] == ["one", "two", "three"]
    assert listed[1]["protected"] == "true" and listed[0]["size"] == 64 << 20
    assert ctime_age(listed[0]["timestamp"]) < 300

    again = rbd(cluster, "snap protect volumes/snappy@two")
    assert (again.returncode, again.stderr) == (16, "rbd: snap is already protected\n")
    loose = rbd(cluster, "snap unprotect volumes/snappy@one")
    assert (loose.returncode, loose.stderr) == (22, "rbd: snap is already unprotected\n")
    held = rbd(cluster, "snap rm volumes/snappy@two")
    assert held.returncode == 16
    assert held.stderr.endswith("rbd: snapshot 'two' is protected from removal.\n")
    ok(cluster, "snap rename volumes/snappy@three volumes/snappy@drei")
    across = rbd(cluster, "snap rename volumes/snappy@drei volumes/other@x")
    assert (across.returncode, across.stderr) == (
        22, "rbd: source and destination image name must be the same\n")
    purged = rbd(cluster, "snap purge volumes/snappy")
    assert purged.returncode == 0
    assert purged.stdout == ("rbd: error removing snapshot(s) 'two', which is protected - "
                             "these must be unprotected with `rbd snap unprotect`.\n")
    assert [s["name"] for s in json.loads(ok(cluster, "snap ls volumes/snappy --format json"))
            ] == ["two"]
    has_snaps = rbd(cluster, "rm volumes/snappy --no-progress")
    assert (has_snaps.returncode, has_snaps.stderr) == (
        39, "rbd: image has snapshots - these must be deleted with 'rbd snap purge' before "
            "the image can be removed.\n")
    ok(cluster, "snap unprotect volumes/snappy@two")
    ok(cluster, "snap purge --no-progress volumes/snappy")
    assert ok(cluster, "snap ls volumes/snappy") == ""
    assert ok(cluster, "snap ls volumes/snappy --format json") == "[]\n"


def test_snap_rollback_restores_data(cluster: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"A" * 8192 + bytes(8192))
    second.write_bytes(b"B" * 16384)
    ok(cluster, f"import --no-progress {first} volumes/rolled")
    ok(cluster, "snap create --no-progress volumes/rolled@before")
    ok(cluster, f"import-diff --no-progress {_full_diff(cluster, tmp_path, second)} "
                "volumes/rolled")
    out = tmp_path / "now"
    ok(cluster, f"export --no-progress volumes/rolled {out}")
    assert out.read_bytes() == second.read_bytes()
    rolled = rbd(cluster, "snap rollback volumes/rolled@before")
    assert (rolled.returncode, rolled.stderr) == (
        0, "\nRolling back to snapshot: 100% complete...done.\n")
    back = tmp_path / "back"
    ok(cluster, f"export --no-progress volumes/rolled {back}")
    assert back.read_bytes() == first.read_bytes()


def _full_diff(cluster: Path, tmp_path: Path, content: Path) -> Path:
    """A diff stream (no snapshots) that writes ``content`` from offset 0."""
    ok(cluster, f"import --no-progress {content} volumes/diffsrc-{content.name}")
    path = tmp_path / f"{content.name}.diff"
    ok(cluster, f"export-diff --no-progress volumes/diffsrc-{content.name} {path}")
    return path


def test_disk_usage(cluster: Path, tmp_path: Path) -> None:
    new_pool(cluster, "dup")
    data = tmp_path / "data"
    data.write_bytes(b"x" * 4096 + bytes((8 << 20) - 4096) + b"y")
    ok(cluster, f"import --no-progress {data} dup/used")
    ok(cluster, "snap create --no-progress dup/used@s")
    ok(cluster, "create -s 1G dup/empty")
    # USED counts whole objects (clipped to the image size): 4 MiB + the 1-byte tail
    assert ok(cluster, "du -p dup") == (
        "NAME     PROVISIONED  USED   \n"
        "empty          1 GiB      0 B\n"
        "used@s       8.0 MiB  4.0 MiB\n"
        "used         8.0 MiB      0 B\n"
        "<TOTAL>      1.0 GiB  4.0 MiB\n")
    stats = json.loads(ok(cluster, "disk-usage --pool dup --format json"))
    assert [(i["name"], i.get("snapshot"), i["used_size"]) for i in stats["images"]] == [
        ("empty", None, 0), ("used", "s", (4 << 20) + 1), ("used", None, 0)]
    assert stats["total_used_size"] == (4 << 20) + 1
    assert stats["total_provisioned_size"] == (1 << 30) + (8 << 20) + 1
    exact = json.loads(ok(cluster, "du --exact dup/used --format json"))
    assert exact == {"images": [
        {"name": "used", "id": stats["images"][1]["id"], "snapshot": "s",
         "snapshot_id": stats["images"][1]["snapshot_id"], "provisioned_size": (8 << 20) + 1,
         "used_size": 4096 + 1},
        {"name": "used", "id": stats["images"][1]["id"], "provisioned_size": (8 << 20) + 1,
         "used_size": 0}]}
    one = ok(cluster, "du dup/empty")
    assert one == "NAME   PROVISIONED  USED\nempty        1 GiB   0 B\n"
    missing = rbd(cluster, "du dup/nope")
    assert (missing.returncode, missing.stderr) == (
        2, "specified image nope is not found.\nrbd: du failed: (2) No such file or directory\n")


# --- resize, rename, rm, status --------------------------------------------------------


def test_resize_rename_status_rm(cluster: Path) -> None:
    ok(cluster, "create --size 1G volumes/grow")
    grown = rbd(cluster, "resize --size 2G volumes/grow")
    assert (grown.returncode, grown.stderr) == (0, "\nResizing image: 100% complete...done.\n")
    shrink = rbd(cluster, "resize --size 1G volumes/grow")
    assert (shrink.returncode, shrink.stderr) == (
        22, "rbd: shrinking an image is only allowed with the --allow-shrink flag\n")
    same = rbd(cluster, "resize --size 2048 volumes/grow")
    assert (same.returncode, same.stderr) == (22, "rbd: new size is equal to original size \n")
    ok(cluster, "resize --size 1536M --allow-shrink --no-progress volumes/grow")
    assert "\tsize 1.5 GiB in 384 objects\n" in ok(cluster, "info volumes/grow")

    ok(cluster, "rename volumes/grow volumes/grown")
    ok(cluster, "mv volumes/grown shrunk")
    assert "shrunk" in ok(cluster, "ls volumes").split()
    across = rbd(cluster, "rename volumes/shrunk vms/shrunk")
    assert (across.returncode, across.stderr) == (
        22, "rbd: mv/rename across pools not supported\nsource pool: volumes dest pool: vms\n")
    taken = rbd(cluster, "rename volumes/shrunk volumes/layout")
    assert taken.returncode == 17 and taken.stderr.endswith(
        "rbd: rename error: (17) File exists\n")

    assert ok(cluster, "status volumes/shrunk") == "Watchers: none\n"
    assert json.loads(ok(cluster, "status volumes/shrunk --format json")) == {"watchers": []}
    ok(cluster, "rm --no-progress volumes/shrunk")
    gone = rbd(cluster, "rm volumes/shrunk")
    assert (gone.returncode, gone.stderr) == (
        2, "\nRemoving image: 0% complete...failed.\n"
           "rbd: delete error: (2) No such file or directory\n")


def test_create_options(cluster: Path) -> None:
    ok(cluster, "create --size 1024 --image-feature layering --image-feature striping "
                "--stripe-unit 1M --stripe-count 2 vms/opts")
    info = json.loads(ok(cluster, "info vms/opts --format json"))
    assert info["size"] == 1 << 30 and info["features"] == ["layering", "striping"]
    assert (info["stripe_unit"], info["stripe_count"]) == (1 << 20, 2)
    order = rbd(cluster, "create --size 16M --order 20 vms/small")
    assert (order.returncode, order.stderr) == (
        0, "rbd: --order is deprecated, use --object-size\n")
    assert "\torder 20 (1 MiB objects)\n" in ok(cluster, "info vms/small")
    ok(cluster, "create --size 4096K --image-shared vms/shared")
    assert json.loads(ok(cluster, "info vms/shared --format json"))["features"] == [
        "layering", "deep-flatten"]
    dup = rbd(cluster, "create --size 1 vms/small")
    assert (dup.returncode, dup.stderr.splitlines()[-1]) == (
        17, "rbd: create error: (17) File exists")


# --- trash ------------------------------------------------------------------------------


def test_trash_move_list_restore_remove_purge(cluster: Path) -> None:
    new_pool(cluster, "bin")
    for name in ("t1", "t2", "t3"):
        ok(cluster, f"create --size 8M bin/{name}")
    ok(cluster, "trash mv bin/t1")
    ok(cluster, "trash move bin/t2 --expires-at '1 hour'")
    ok(cluster, "trash mv bin/t3 --delay 3600")
    assert ok(cluster, "ls bin") == ""
    entries = dict(line.split() for line in ok(cluster, "trash ls bin").splitlines())
    assert sorted(entries.values()) == ["t1", "t2", "t3"]
    ids = {name: image_id for image_id, name in entries.items()}
    long = ok(cluster, "trash ls -l bin").splitlines()
    assert re.fullmatch(r"ID +NAME  SOURCE  DELETED_AT +STATUS +PARENT", long[0])
    row = next(line for line in long if " t2 " in line)
    assert re.search(rf"USER    {CTIME}  protected until {CTIME}", row)
    as_json = json.loads(ok(cluster, "trash ls bin --format json"))
    assert {e["name"] for e in as_json} == {"t1", "t2", "t3"}

    early = rbd(cluster, f"trash rm bin/{ids['t2']}")
    assert (early.returncode, early.stderr) == (
        1, "\nDeferment time has not expired, please use --force if you really want to "
           "remove the image\n\nRemoving image: 0% complete...failed.\n")
    ok(cluster, f"trash rm --force --no-progress bin/{ids['t2']}")
    ok(cluster, f"trash restore bin/{ids['t3']} --image back")
    assert ok(cluster, "ls bin") == "back\n"
    nope = rbd(cluster, f"trash restore -p bin {ids['t3']}")
    assert (nope.returncode, nope.stderr) == (2, "rbd: error: image does not exist in trash\n")
    purge = rbd(cluster, "trash purge bin")
    assert (purge.returncode, purge.stderr) == (0, "\nRemoving images: 100% complete...done.\n")
    assert ok(cluster, "trash ls bin") == ""
    past = rbd(cluster, "trash mv bin/back --expires-at '1 hour ago'")
    assert (past.returncode, past.stderr) == (
        22, "rbd: cannot use a date in the past as an expiration date\n")


# --- caps --------------------------------------------------------------------------------


def test_caps_apply_to_every_command(cluster: Path) -> None:
    refused = rbd(cluster, "create --size 1G volumes/x --id glance")
    assert refused.returncode == 1
    assert refused.stderr.endswith("rbd: create error: (1) Operation not permitted\n")
    assert "client.glance" in refused.stderr and "osd caps" in refused.stderr
    listing = rbd(cluster, "ls volumes --id glance")
    assert listing.returncode == 1
    assert listing.stderr.endswith("rbd: listing images failed: (1) Operation not permitted\n")
    ro = rbd(cluster, "create --size 1G images/by-cinder --id cinder")
    assert ro.returncode == 1 and ro.stderr.endswith("(1) Operation not permitted\n")
    backup = rbd(cluster, "info volumes/layout --id cinder-backup")
    assert (backup.returncode, backup.stderr) == (
        1, "rbd: error opening image layout: (1) Operation not permitted\n")
    ok(cluster, "create --size 1G backups/base --id cinder-backup")
    assert "base" in ok(cluster, "ls backups --id cinder-backup").split()
    assert ok(cluster, "ls backups") != ""


# --- mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status", "stderr"),
    [
        ("info volumes/nope", 2, "rbd: error opening image nope: (2) No such file or directory\n"),
        ("info volumes/layout@nosnap", 2,
         "error setting snapshot context: (2) No such file or directory\n"),
        ("info nope", 2, "rbd: error opening default pool 'rbd'\nEnsure that the default pool "
                         "has been created or specify an alternate pool name.\n"),
        ("info -p nopool img", 2, "rbd: error opening pool 'nopool': (2) No such file or "
                                  "directory\n"),
        ("info", 22, "rbd: image name was not specified\n"),
        ("create volumes/s", 22, "rbd: must specify --size <M/G/T>\n"),
        ("create --size 10X volumes/s", 1,
         "rbd: the argument ('10X') for option '--size' is invalid\n\n"),
        ("create --size 10GiB volumes/s", 1,
         "rbd: the argument ('10GiB') for option '--size' is invalid\n\n"),
        ("create --size 1 --image-feature bogus volumes/s", 1,
         "rbd: the argument ('bogus') for option '--image-feature' is invalid\n\n"),
        ("create --size 1 --order 30 volumes/s", 1,
         "rbd: the argument ('30') for option '--order' is invalid\n\n"),
        ("create --size 1 volumes/s@snap", 22,
         "rbd: snapshot name specified for a command that doesn't use it\n"),
        ("create --size 1 vol@umes/s", 22, "rbd: invalid spec 'vol@umes/s'\n"),
        ("clone volumes/layout volumes/c", 22, "rbd: snapshot name was not specified\n"),
        ("clone volumes/layout@s", 22, "rbd: destination image name was not specified\n"),
        ("snap create volumes/layout", 22, "rbd: snapshot name was not specified\n"),
        ("info volumes/layout extra", 1, "rbd: too many arguments\n"),
        ("info --bogus volumes/layout", 1, "rbd: unrecognised option '--bogus'\n\n"),
        ("info volumes/layout --format yaml", 1,
         "rbd: the argument ('yaml') for option '--format' is invalid\n\n"),
        ("info volumes/layout --pretty-format", 22,
         "rbd: --pretty-format only works when --format is json or xml\n"),
        ("info volumes/layout --format", 1,
         "rbd: the required argument for option '--format' is missing\n\n"),
        ("snap rollback volumes/layout@none --no-progress", 2,
         "rbd: rollback failed: (2) No such file or directory\n"),
        ("flatten volumes/layout --no-progress", 22,
         "rbd: image 'layout' is not a clone\nrbd: flatten error: (22) Invalid argument\n"),
        ("children volumes/layout@none", 2,
         "error setting snapshot context: (2) No such file or directory\n"),
        ("clone volumes/layout@none volumes/c2", 2,
         "rbd: clone error: (2) No such file or directory\n"),
        ("trash rm", 22, "rbd: image id was not specified\n"),
    ],
)
def test_bad_input_gets_rbd_errors_not_tracebacks(
    cluster: Path, line: str, status: int, stderr: str
) -> None:
    result = rbd(cluster, line)
    assert (result.returncode, result.stderr) == (status, stderr), line
    assert result.stdout == ""


def test_clone_of_unprotected_snapshot_is_refused(cluster: Path) -> None:
    ok(cluster, "create --size 8M volumes/unprot")
    ok(cluster, "snap create --no-progress volumes/unprot@s")
    result = rbd(cluster, "clone volumes/unprot@s volumes/unprot-child")
    assert result.returncode == 22
    assert result.stderr.splitlines() == [
        "rbd: parent snapshot unprot@s must be protected before cloning",
        "rbd: clone error: (22) Invalid argument"]


def test_help_lists_the_commands(cluster: Path) -> None:
    top = ok(cluster, "--help")
    for command in ("create", "info", "list (ls)", "snap", "clone", "children", "flatten",
                    "export", "import", "export-diff", "import-diff", "diff", "disk-usage (du)",
                    "trash", "status", "remove (rm)", "rename (mv)"):
        assert f"  {command} " in top
    assert "  rm " not in top and "  ls " not in top  # aliases are not commands of their own
    snap_help = ok(cluster, "snap --help")
    assert "  rollback (revert) " in snap_help and "  remove (rm) " in snap_help
    assert "Keyring file" not in ok(cluster, "snap rm --help")  # global options: shoal --help
    assert all(len(line) <= 80 for line in top.splitlines())


def test_children_all_names_trashed_clone_by_its_trash_name(cluster: Path) -> None:
    ok(cluster, "create --size 8M vms/tparent")
    ok(cluster, "snap create --no-progress vms/tparent@s")
    ok(cluster, "snap protect vms/tparent@s")
    ok(cluster, "clone vms/tparent@s vms/tchild")
    ok(cluster, "trash mv vms/tchild")
    (image_id,) = (line.split()[0] for line in ok(cluster, "trash ls vms").splitlines()
                   if line.endswith(" tchild"))
    assert ok(cluster, "children vms/tparent@s") == ""
    assert ok(cluster, "children --all vms/tparent@s") == f"vms/tchild (trash {image_id})\n"


def test_an_image_open_for_writing_is_watched_and_not_removed(cluster: Path) -> None:
    """A read-write handle in another process is a watcher (``rbd status``) and keeps
    ``rbd rm`` away (EBUSY, rbd's hint); once it closes, removal works."""
    ok(cluster, "create --size 64M volumes/held")
    with subprocess.Popen(
        [sys.executable, "-c", (
            "import sys\n"
            "from shoal.cluster import connect\n"
            "from shoal.rbd import Image\n"
            f"with connect({str(cluster)!r}) as s, Image(s.open_ioctx('volumes'), 'held'):\n"
            "    print('open', flush=True)\n"
            "    sys.stdin.read()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        status = ok(cluster, "status volumes/held")
        assert re.fullmatch(
            rf"Watchers:\n\twatcher=\S+:0/{holder.pid} client\.{holder.pid} cookie=\w+\n", status
        ), status
        watchers = json.loads(ok(cluster, "status volumes/held --format json"))["watchers"]
        assert [w["client"] for w in watchers] == [holder.pid]
        busy = rbd(cluster, "rm --no-progress volumes/held")
        assert busy.returncode == 16
        assert busy.stderr.startswith("rbd: error: image still has watchers\n"), busy.stderr
        assert "held" in ok(cluster, "ls volumes").split()
        holder.communicate("", timeout=30)
    assert ok(cluster, "status volumes/held") == "Watchers: none\n"
    ok(cluster, "rm --no-progress volumes/held")
