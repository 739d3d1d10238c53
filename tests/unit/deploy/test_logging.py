"""shoal up's logging: oslo.log's [DEFAULT] options from shoal.conf or the real files, where
the lines go, the levels, and what ``prepare`` sets up and puts back."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from shoal import errors
from shoal.config import load_config
from shoal.deploy import LOG_FILE_NAME, LogOptions, UpOptions, prepare, setup_logging
from tests.shoal_cli import run_shoal_cli


@pytest.mark.parametrize(("log_file", "log_dir", "expected"), [
    (None, None, None),
    ("api.log", None, "api.log"),  # relative to the working directory
    (None, "/var/log/shoal", f"/var/log/shoal/{LOG_FILE_NAME}"),  # named after the program
    ("api.log", "/var/log/shoal", "/var/log/shoal/api.log"),
    ("/elsewhere/api.log", "/var/log/shoal", "/elsewhere/api.log"),  # absolute stays
])
def test_the_log_file_follows_oslo_log(log_file: str | None, log_dir: str | None,
                                       expected: str | None) -> None:
    path = LogOptions(log_file=log_file, log_dir=log_dir).path
    assert (str(path) if path else None) == expected


def test_options_come_from_shoal_conf_with_upstreams_defaults(tmp_path: Path) -> None:
    assert LogOptions.from_config(load_config(environ={})) == LogOptions()
    assert LogOptions().level == logging.INFO
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[DEFAULT]\ndebug = True\nlogdir = {tmp_path}\nuse_stderr = yes\n")
    cfg = load_config(file=conf, environ={})
    got = LogOptions.from_config(cfg)
    assert got == LogOptions(debug=True, log_dir=str(tmp_path), use_stderr=True)
    assert got.level == logging.DEBUG
    assert any("logdir is an old spelling of [DEFAULT] log_dir" in w for w in cfg.warnings)
    conf.write_text("[DEFAULT]\ndebug = false\n")
    assert LogOptions.from_config(load_config(file=conf, environ={}), debug=True).debug


def test_options_come_from_the_real_files_nova_over_cinder_over_glance(tmp_path: Path) -> None:
    (tmp_path / "glance-api.conf").write_text(
        "[DEFAULT]\ndebug = true\nlog_file = glance-api.log\nlog_dir = /var/log/glance\n")
    (tmp_path / "cinder.conf").write_text("[DEFAULT]\nlog_dir = /var/log/cinder\n")
    (tmp_path / "ceph.conf").write_text("[global]\nlog_file = /var/log/ceph/x.log\n")
    cfg = load_config(directory=tmp_path, environ={})
    assert cfg.warnings == ()  # every service's file may hold oslo.log's options
    got = LogOptions.from_config(cfg)
    assert (got.debug, got.path) == (True, Path("/var/log/cinder/glance-api.log"))
    assert cfg.setting("DEFAULT", "log_dir").source.path == tmp_path / "cinder.conf"
    assert cfg.ceph_client.log_file == "/var/log/ceph/x.log"  # Ceph's own, apart


def test_config_show_lists_the_logging_options(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text("[DEFAULT]\ndebug = true\n[shoal]\naccess_log = true\n")
    shown = run_shoal_cli(tmp_path / "data", "config", "show", "--config", str(conf),
                          "--format", "json")
    assert shown.returncode == 0, shown.stderr
    rows = {(r["section"], r["name"]): r for r in json.loads(shown.stdout)["options"]}
    assert rows[("DEFAULT", "debug")]["value"] is True
    assert rows[("DEFAULT", "debug")]["source"]["line"] == 2
    assert rows[("DEFAULT", "log_file")]["source"] == {"kind": "default"}
    assert rows[("DEFAULT", "log_dir")]["source"] == {"kind": "default"}
    assert rows[("DEFAULT", "use_stderr")]["value"] is False
    assert rows[("shoal", "access_log")]["value"] is True
    assert rows[("shoal", "access_log")]["source"]["line"] == 4


def test_without_a_file_lines_go_to_standard_error_only(tmp_path: Path) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    setup = setup_logging(LogOptions(), stream=stream)
    try:
        logging.getLogger("shoal.test").info("hello")
        logging.getLogger("shoal.test").debug("not at INFO")
        logging.getLogger("sqlalchemy.engine.Engine").info("SELECT secret")
        logging.getLogger("uvicorn.error").info("Started server process")
        assert len(setup.handlers) == 1
    finally:
        setup.close()
    text = stream.getvalue()
    assert " INFO shoal.test [-] hello" in text
    assert "not at INFO" not in text and "SELECT" not in text and "Started" not in text
    assert (list(root.handlers), root.level) == before
    assert logging.getLogger("uvicorn").level == logging.NOTSET  # put back


def test_a_file_gets_every_line_and_stderr_only_with_use_stderr(tmp_path: Path) -> None:
    stream = io.StringIO()
    setup = setup_logging(LogOptions(debug=True, log_dir=str(tmp_path)), stream=stream)
    try:
        logging.getLogger("shoal.test").debug("to the file")
    finally:
        setup.close()
    assert "DEBUG shoal.test [-] to the file" in (tmp_path / LOG_FILE_NAME).read_text()
    assert stream.getvalue() == ""
    setup = setup_logging(LogOptions(log_file="x.log", log_dir=str(tmp_path), use_stderr=True),
                          stream=stream)
    try:
        logging.getLogger("shoal.test").warning("to both")
    finally:
        setup.close()
    assert "to both" in (tmp_path / "x.log").read_text() and "to both" in stream.getvalue()


def test_a_log_file_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(errors.InvalidArgument, match=f"{missing}/{LOG_FILE_NAME}"):
        setup_logging(LogOptions(log_dir=str(missing)))


def test_prepare_logs_to_the_configured_file_and_hides_the_passwords(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[DEFAULT]\ndebug = true\nlog_dir = {logs}\n"
                    "[shoal]\nadmin_password = admin-secret-1\n")
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    opts = UpOptions(data_dir=tmp_path / "data", config_file=conf, setup_logging=True)
    with prepare(opts) as deployment:
        assert deployment.logs is not None and root.level == logging.DEBUG
        assert not deployment.access_log
        logging.getLogger("shoal.test").info("admin logs in with admin-secret-1 and %s",
                                             deployment.demo.password)
    assert (list(root.handlers), root.level) == before  # close put it back
    text = (logs / LOG_FILE_NAME).read_text()
    assert f"logging at DEBUG to {logs / LOG_FILE_NAME}" in text
    assert "admin logs in with *** and ***" in text
    assert "admin-secret-1" not in text and deployment.demo.password not in text


def test_prepare_leaves_logging_alone_unless_asked(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[DEFAULT]\nlog_dir = {tmp_path}\n[shoal]\naccess_log = true\n")
    with prepare(UpOptions(data_dir=tmp_path / "data", config_file=conf)) as deployment:
        assert deployment.logs is None and deployment.access_log
    assert not (tmp_path / LOG_FILE_NAME).exists()
    with prepare(UpOptions(data_dir=tmp_path / "data", access_log=True)) as deployment:
        assert deployment.access_log


def test_prepare_refuses_an_unopenable_log_file_and_unlocks(tmp_path: Path) -> None:
    conf = tmp_path / "shoal.conf"
    conf.write_text(f"[DEFAULT]\nlog_dir = {tmp_path / 'missing'}\n")
    root = logging.getLogger()
    before = list(root.handlers)
    opts = UpOptions(data_dir=tmp_path / "data", config_file=conf, setup_logging=True)
    with pytest.raises(errors.InvalidArgument, match="cannot open the log file"):
        prepare(opts)
    assert list(root.handlers) == before
    with prepare(UpOptions(data_dir=tmp_path / "data")):  # the lock was released
        pass
