"""The Tempest harness's own parts: accounts, configuration, result accounting."""

from __future__ import annotations

import configparser
import json
import subprocess
from pathlib import Path

import pytest

from tests.tempest._harness import (
    Account,
    Outcome,
    TempestError,
    TempestRun,
    _cloud_login,
    causes_report,
    failure_causes,
    merge_outcomes,
    read_subunit,
    tempest_bin,
    write_config,
)

CLS = "tempest.api.image.v2.test_images.ListUserImagesTest"


def test_cloud_login_reads_the_named_cloud(tmp_path: Path) -> None:
    (tmp_path / "clouds.yaml").write_text(
        'clouds:\n  "shoal":\n    auth:\n      auth_url: "http://h:1/identity"\n'
        '      username: "admin"\n      password: "p: w\\"x"\n      project_name: "admin"\n'
        '    region_name: "RegionOne"\n  "shoal-demo":\n    auth:\n      username: "demo"\n')
    login = _cloud_login(tmp_path)
    assert (login["username"], login["password"], login["auth_url"]) == (
        "admin", 'p: w"x', "http://h:1/identity")
    with pytest.raises(TempestError):
        _cloud_login(tmp_path, "shoal-demo")  # no password, no auth_url


def test_accounts_file_and_config(tmp_path: Path) -> None:
    accounts = [Account("adm", "pw1", "tempest-a", ("admin", "member", "reader")),
                Account("mem", "pw2", "tempest-b", ("member",))]
    config = write_config("http://127.0.0.1:5/identity/", tmp_path, accounts)
    entries = json.loads((tmp_path / "etc" / "accounts.yaml").read_text())
    assert entries[0]["types"] == ["admin"] and "roles" not in entries[0]
    assert entries[1]["roles"] == ["member"] and entries[1]["project_name"] == "tempest-b"
    assert (tmp_path / "etc" / "accounts.yaml").stat().st_mode & 0o077 == 0
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(config)
    assert parsed["identity"]["uri_v3"] == "http://127.0.0.1:5/identity/v3"
    assert parsed["auth"]["use_dynamic_credentials"] == "False"
    assert parsed["auth"]["test_accounts_file"] == str(tmp_path / "etc" / "accounts.yaml")
    assert parsed["service_available"]["glance"] == "True"
    assert parsed["service_available"]["nova"] == "False"
    assert parsed["image-feature-enabled"]["import_image"] == "False"


def test_unreported_tests_take_their_class_fixtures_outcome() -> None:
    listed = [f"{CLS}.test_a[id-1]", f"{CLS}.test_b[id-2]",
              "tempest.api.image.v2.test_x.Skipped.test_c[id-3]",
              "tempest.api.image.v2.test_x.Broken.test_d[id-4,negative]",
              "tempest.api.image.v2.test_x.Lost.test_e[id-5]"]
    reported = [
        Outcome(f"{CLS}.test_a[id-1]", "passed"),
        Outcome(f"{CLS}.test_b[id-2]", "failed", "Traceback: b"),
        Outcome("setUpClass (tempest.api.image.v2.test_x.Skipped)", "skipped", "no import"),
        Outcome("setUpClass (tempest.api.image.v2.test_x.Broken)", "failed", "Traceback: s"),
        Outcome(f"tearDownClass ({CLS})", "failed", "Traceback: t"),
    ]
    outcomes = merge_outcomes(listed, reported)
    assert {k: o.status for k, o in outcomes.items()} == {
        f"{CLS}.test_a": "passed",
        f"{CLS}.test_b": "failed",
        "tempest.api.image.v2.test_x.Skipped.test_c": "skipped",
        "tempest.api.image.v2.test_x.Broken.test_d": "failed",
        "tempest.api.image.v2.test_x.Lost.test_e": "failed",
        f"tearDownClass ({CLS})": "failed",
    }
    assert "Traceback: s" in outcomes["tempest.api.image.v2.test_x.Broken.test_d"].detail
    run = TempestRun(outcomes=outcomes, seconds=3.0)
    assert run.counts() == {"passed": 1, "failed": 4, "skipped": 1}
    assert run.pass_rate() == pytest.approx(0.2)
    report = run.report()
    assert report.startswith("tempest: 1 passed, 4 failed, 1 skipped in 3 s")
    assert f"==== {CLS}.test_b\nTraceback: b" in report
    assert "  tempest.api.image.v2.test_x.Skipped.test_c: no import\n" in report
    assert f"passed:\n  {CLS}.test_a\n" in report
    assert TempestRun().pass_rate() == 0.0


@pytest.mark.tempest
def test_read_subunit_from_a_real_stream(tmp_path: Path) -> None:
    """A stream written by subunit itself (Tempest's venv) reads back with statuses."""
    try:
        bin_dir = tempest_bin()
    except TempestError as exc:
        pytest.fail(str(exc))
    (tmp_path / "test_sample.py").write_text(
        "import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_ok(self): pass\n"
        "    def test_bad(self): self.assertEqual(1, 2)\n"
        "    def test_skip(self): self.skipTest('not here')\n")
    stream = tmp_path / "out.subunit"
    with stream.open("wb") as out:
        subprocess.run([str(bin_dir / "python"), "-m", "subunit.run", "test_sample"],
                       cwd=tmp_path, stdout=out, check=False, timeout=60)
    found = {o.test_id: o for o in read_subunit(bin_dir, stream)}
    assert {k: o.status for k, o in found.items()} == {
        "test_sample.T.test_ok": "passed", "test_sample.T.test_bad": "failed",
        "test_sample.T.test_skip": "skipped"}
    assert "AssertionError" in found["test_sample.T.test_bad"].detail
    assert "not here" in found["test_sample.T.test_skip"].detail


def test_failure_causes_group_by_the_first_error_reply(tmp_path: Path) -> None:
    log = tmp_path / "tempest.log"
    host = "http://127.0.0.1:4/volume/v3/0123456789abcdef0123456789abcdef"
    vol = "5e93564e-078e-41d2-bd9a-f25757f342ce"
    log.write_text(
        f"x INFO Request (T:test_a): 200 GET {host}/volumes/{vol} 0.01s\n"
        f"x INFO Request (T:test_a): 405 POST {host}/types 0.01s\n"
        f"x INFO Request (T:test_a): 404 GET {host}/types/{vol} 0.01s\n"
        f"x INFO Request (S:setUpClass): 404 GET {host}/os-services?host=a 0.01s\n"
        f"x INFO Request (T:test_b): 405 POST {host}/types 0.01s\n")
    run = TempestRun(outcomes={
        "m.T.test_a": Outcome("m.T.test_a", "failed", "Traceback: 405"),
        "m.T.test_b": Outcome("m.T.test_b", "failed", "Traceback: 405"),
        "m.T.test_c": Outcome("m.T.test_c", "failed", "Traceback\nMismatchError: 'a' != 'b'"),
        "m.T.test_d": Outcome("m.T.test_d", "passed"),
        "m.S.test_e": Outcome("m.S.test_e", "failed", "(setUpClass failed)\nNotFound"),
    })
    groups = failure_causes(run, log)
    assert groups == {
        "405 POST /volume/v3/types": ["m.T.test_a", "m.T.test_b"],
        "404 GET /volume/v3/os-services (setUpClass)": ["m.S.test_e"],
        "MismatchError: 'a' != 'b'": ["m.T.test_c"],
    }
    text = causes_report(groups)
    assert "    2  405 POST /volume/v3/types\n         m.T.test_a\n" in text
