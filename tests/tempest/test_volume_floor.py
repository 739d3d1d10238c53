"""The floor of the Tempest volume run: its data file and how failures are classified."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from tests.tempest._harness import Account, Outcome, TempestRun, write_config
from tests.tempest.test_tempest_volume import (
    SETUP_FAILING_CLASSES,
    VOLUME,
    config_errors,
    passing_floor,
    setup_failures,
    volume_overrides,
)

CLS = "tempest.api.volume.test_volumes_get.VolumesGetTest"


def test_passing_floor_ids_are_unique_and_selected() -> None:
    floor = passing_floor()
    assert len(floor) >= 80 and len(set(floor)) == len(floor)
    assert all(re.match(VOLUME, test_id) for test_id in floor)
    assert not any("[" in test_id for test_id in floor)  # bare ids, as the run keys them
    assert not {i.rsplit(".", 1)[0] for i in floor} & SETUP_FAILING_CLASSES


def test_selection_leaves_out_the_server_only_classes() -> None:
    assert re.match(VOLUME, f"{CLS}.test_volume_create_get_update_delete[id-1]")
    assert not re.match(VOLUME, "tempest.api.volume.test_volumes_extend."
                                "VolumesExtendAttachedTest.test_extend_attached_volume[id-2]")
    assert not re.match(VOLUME, "tempest.api.image.v2.test_images.ListImagesTest.test_x")


def test_setup_and_config_failures_are_told_apart() -> None:
    run = TempestRun(outcomes={
        f"{CLS}.test_a": Outcome(f"{CLS}.test_a", "passed"),
        f"{CLS}.test_b": Outcome(f"{CLS}.test_b", "failed", "Traceback: NotFound 404"),
        "x.Broken.test_c": Outcome("x.Broken.test_c", "failed",
                                   "(setUpClass failed)\nTraceback: 405"),
        "tearDownClass (x.Lost)": Outcome("tearDownClass (x.Lost)", "failed", "boom"),
        "x.Conf.test_d": Outcome("x.Conf.test_d", "skipped",
                                 "(setUpClass skipped)\nInvalidConfiguration: no ref"),
    })
    assert set(setup_failures(run)) == {"x.Broken", "tearDownClass (x.Lost)"}
    assert config_errors(run) == ["x.Conf.test_d"]


def test_volume_overrides_reach_tempest_conf(tmp_path: Path) -> None:
    accounts = [Account("adm", "pw", "tempest-admin", ("admin",))]
    config = write_config("http://127.0.0.1:5/identity", tmp_path, accounts,
                          volume_overrides("IMAGE-ID"))
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(config)
    assert parsed["service_available"]["cinder"] == "True"
    assert parsed["service_available"]["neutron"] == "True"
    assert parsed["service_available"]["nova"] == "False"
    assert parsed["service_available"]["horizon"] == "False"  # the base options stay
    assert parsed["compute"]["image_ref"] == "IMAGE-ID"
    assert parsed["volume"]["max_microversion"] == "3.71"
    assert parsed["volume-feature-enabled"]["backup"] == "True"
    assert parsed["image"]["build_timeout"] == "60"
