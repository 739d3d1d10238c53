"""``shoal config show`` / ``write-default`` as real processes."""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
from pathlib import Path

from tests.shoal_cli import RunShoal
from tests.unit.config.test_guides import (
    VI_CEPH_CLIENT,
    VI_CINDER_BACKEND,
    VI_CINDER_DEFAULT,
    VI_GLANCE_STORE,
    VI_NOVA_LIBVIRT,
)


def _rows(stdout: str) -> dict[tuple[str, str], dict[str, object]]:
    doc = json.loads(stdout)
    return {(o["section"], o["name"]): o for o in doc["options"]}


def test_show_without_a_file_prints_the_built_in_defaults(run_shoal: RunShoal) -> None:
    result = run_shoal("config", "show", env={"SHOAL_CONFIG": ""})
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "# configuration files: none (built-in defaults)"
    assert "[glance_store]" in lines
    row = next(ln for ln in lines if ln.startswith("rbd_store_chunk_size = 8 "))
    assert row.endswith("# default")


def test_write_default_then_show_reports_each_value_and_its_line(
        run_shoal: RunShoal, data_dir: Path) -> None:
    written = run_shoal("config", "write-default",
                        "--secret-uuid", "691c3607-7ca3-433a-a0c0-5805cea8afa0")
    assert written.returncode == 0, written.stderr
    path = data_dir / "shoal.conf"
    assert written.stdout == f"{path}\n"
    result = run_shoal("config", "show", "--format", "json")  # found in the data directory
    assert (result.returncode, result.stderr) == (0, "")
    doc = json.loads(result.stdout)
    assert doc["sources"] == [str(path)] and doc["warnings"] == []
    rows = _rows(result.stdout)
    lines = path.read_text().splitlines()
    for key, expected in [(("glance_store", "show_image_direct_url"), True),
                          (("glance_store", "default_store"), "rbd"),
                          (("glance_store", "rbd_store_chunk_size"), 8),
                          (("ceph", "rbd_flatten_volume_from_snapshot"), False),
                          (("ceph", "rbd_max_clone_depth"), 5),
                          (("libvirt", "images_type"), "rbd"),
                          (("libvirt", "images_rbd_pool"), "vms"),
                          (("libvirt", "hw_disk_discard"), "unmap"),
                          (("libvirt", "rbd_secret_uuid"), "691c3607-7ca3-433a-a0c0-5805cea8afa0"),
                          (("client", "rbd_concurrent_management_ops"), 20)]:
        row = rows[key]
        assert row["value"] == expected, key
        source = row["source"]
        assert isinstance(source, dict) and source["path"] == str(path)
        assert lines[source["line"] - 1].startswith(f"{source['name']} = "), key
    assert rows[("shoal", "admin_password")]["value"] == "****"
    assert rows[("glance_store", "rbd_store_user")]["default"] is None
    again = run_shoal("config", "write-default")
    assert again.returncode == errno.EEXIST
    assert "exists" in again.stderr and "--force" in again.stderr


def _settings(text: str) -> list[list[str]]:
    """The words of each section header and setting, its ``# source`` after it (the
    text puts a source on the lines before its setting when both do not fit), after
    the ``# configuration files`` header."""
    out: list[list[str]] = []
    pending: list[str] = []
    for line in text.split("\n\n", 1)[1].splitlines():
        if line.startswith("# "):
            pending += ["#", *line[2:].split()] if not pending else line[2:].split()
        elif line.startswith(" "):
            out[-1][2:2] = line.split()  # a wrapped value's continuation
        elif line:
            words, beside = line.split(), []
            if "#" in words:
                words, beside = words[:words.index("#")], words[words.index("#"):]
            out.append(words + (pending or beside))
            pending = []
    return out


def test_show_text_changed_only(run_shoal: RunShoal, tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text("[libvirt]\nimages_type = rbd\n")
    # a short data directory: a long one (pytest-xdist's tmp paths) wraps at 80 columns
    short = Path(tempfile.mkdtemp(prefix="sd", dir="/tmp"))
    try:
        result = run_shoal("config", "show", "--config", str(path), "--changed",
                           env={"SHOAL_DATA_DIR": str(short)})
    finally:
        shutil.rmtree(short, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    body = _settings(result.stdout)
    assert body == [  # run_shoal sets SHOAL_DATA_DIR: an environment override
        ["[libvirt]"],
        ["images_type", "=", "rbd", "#", f"{path}:2", "[libvirt]", "images_type"],
        ["[shoal]"],
        ["data_dir", "=", str(short), "#", "env", "SHOAL_DATA_DIR"],
    ]


def test_show_text_fits_80_columns_and_keeps_every_setting(run_shoal: RunShoal) -> None:
    text = run_shoal("config", "show", env={"SHOAL_CONFIG": ""})
    doc = run_shoal("config", "show", "--format", "json", env={"SHOAL_CONFIG": ""})
    assert text.returncode == doc.returncode == 0
    lines = text.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80  # stdout is not a terminal: 80 columns
    rows = [r for r in _settings(text.stdout) if not r[0].startswith("[")]
    assert len(rows) == len(json.loads(doc.stdout)["options"])
    assert all(row[1] == "=" and "#" in row for row in rows)


def test_invalid_value_exits_einval_naming_option_section_file_line(
        run_shoal: RunShoal, tmp_path: Path) -> None:
    path = tmp_path / "bad.conf"
    path.write_text("[glance_store]\nstores = rbd\nrbd_store_chunk_size = 6\n")
    result = run_shoal("config", "show", "--config", str(path))
    assert result.returncode == errno.EINVAL
    assert result.stdout == ""
    assert result.stderr == (
        f"shoal config: error: {path}:3: [glance_store] rbd_store_chunk_size = '6': 6 is not a "
        "power of two (the RBD object order is its log2)\n")
    assert "Traceback" not in result.stderr


def test_config_dir_of_real_files_and_warnings_on_stderr(
        run_shoal: RunShoal, tmp_path: Path) -> None:
    (tmp_path / "cinder.conf").write_text(
        f"[DEFAULT]\n{VI_CINDER_DEFAULT}\n[ceph]\n{VI_CINDER_BACKEND}[database]\nx = 1\n")
    (tmp_path / "glance-api.conf").write_text(f"[glance_store]\n{VI_GLANCE_STORE}")
    (tmp_path / "nova.conf").write_text(f"[libvirt]\n{VI_NOVA_LIBVIRT}")
    (tmp_path / "ceph.conf").write_text(f"[client]\n{VI_CEPH_CLIENT}")
    result = run_shoal("config", "show", "--config-dir", str(tmp_path), "--format", "json")
    assert result.returncode == 0
    assert result.stderr == (f"warning: {tmp_path / 'cinder.conf'}:17: section [database] is "
                             "not read by shoal; ignored\n")
    rows = _rows(result.stdout)
    assert rows[("ceph", "rbd_pool")]["value"] == "volumes"
    assert rows[("client", "rbd_cache")]["source"]["name"] == "rbd cache"  # type: ignore[index]
    assert rows[("client", "rbd_cache")]["source"]["path"] == str(  # type: ignore[index]
        tmp_path / "ceph.conf")


def test_missing_config_file_is_a_clear_error(run_shoal: RunShoal, tmp_path: Path) -> None:
    result = run_shoal("config", "show", "--config", str(tmp_path / "none.conf"))
    assert result.returncode == errno.ENOENT
    assert result.stderr == f"shoal config: error: configuration file {tmp_path / 'none.conf'} " \
                            "does not exist\n"
