"""``osd pool ...`` commands and their Ceph (Pacific) replies."""

from __future__ import annotations

import json

import pytest

from shoal.cluster import EmbeddedSession, MonResult, rbd_pool_init


def run(session: EmbeddedSession, prefix: str, **args: object) -> MonResult:
    return session.mon_command({"prefix": prefix, **args})


def test_create_reports_created_then_already_exists(admin: EmbeddedSession) -> None:
    assert run(admin, "osd pool create", pool="volumes", pg_num=128) == MonResult(
        0, b"", "pool 'volumes' created"
    )
    assert run(admin, "osd pool create", pool="volumes", pg_num=128) == MonResult(
        0, b"", "pool 'volumes' already exists"
    )
    assert run(admin, "osd pool create", pool="volumes", pool_type="erasure") == MonResult(
        -22, b"", "pool 'volumes' cannot change to type erasure"
    )


def test_create_defaults_pg_num(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="p")
    assert run(admin, "osd pool get", pool="p", var="pg_num").outbuf == b"pg_num: 32\n"


@pytest.mark.parametrize(
    ("args", "ret", "outs"),
    [
        ({"pool": ".hidden"}, -22, "pool names beginning with . are not allowed"),
        ({"pool": "a/b"}, -22, "pool name 'a/b' contains '/' or a control character"),
        ({"pool": "x" * 300}, -22, "pool name must be 1..256 bytes"),
        ({"pool": "p", "pg_num": 65537}, -34,
         "'pg_num' must be greater than 0 and less than or equal to 65536 (you may adjust "
         "'mon max pool pg num' for higher values)"),
        ({"pool": "p", "pg_num": 8, "pgp_num": 16}, -34,
         "'pgp_num' must be greater than 0 and lower or equal than 'pg_num', which in this "
         "case is 8"),
        ({"pool": "p", "pool_type": "erasure"}, -95,
         "erasure-coded pools are not supported by the embedded cluster"),
        ({"pool": "p", "erasure_code_profile": "fast"}, -2, "specified rule fast doesn't exist"),
        ({"pool": "p", "rule": "fast"}, -2, "specified rule fast doesn't exist"),
        ({"pool": "p", "size": 3}, -22,
         "pool size must be 1: the embedded cluster keeps one copy of each object"),
    ],
)
def test_create_refuses_bad_input(
    admin: EmbeddedSession, args: dict[str, object], ret: int, outs: str
) -> None:
    assert run(admin, "osd pool create", **args) == MonResult(ret, b"", outs)
    assert admin.list_pools() == []


WARNING = (
    "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool volumes.  If you are "
    "*ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by "
    "--yes-i-really-really-mean-it."
)


@pytest.mark.parametrize("prefix", ["osd pool delete", "osd pool rm"])
def test_delete_needs_the_name_twice_and_the_flag(admin: EmbeddedSession, prefix: str) -> None:
    run(admin, "osd pool create", pool="volumes")
    assert run(admin, prefix, pool="volumes") == MonResult(-1, b"", WARNING)
    assert run(admin, prefix, pool="volumes", pool2="volumes") == MonResult(-1, b"", WARNING)
    assert run(admin, prefix, pool="volumes", pool2="volume",
               yes_i_really_really_mean_it=True) == MonResult(-1, b"", WARNING)
    assert run(admin, prefix, pool="volumes", pool2="volumes",
               yes_i_really_really_mean_it=True) == MonResult(0, b"", "pool 'volumes' removed")
    assert run(admin, prefix, pool="volumes", pool2="volumes",
               yes_i_really_really_mean_it=True) == MonResult(
        0, b"", "pool 'volumes' does not exist")


def test_delete_honours_mon_allow_pool_delete(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="volumes")
    conf = admin.layout.conf_path
    conf.write_text(conf.read_text().replace("mon allow pool delete = true",
                                             "mon allow pool delete = false"))
    result = run(admin, "osd pool delete", pool="volumes", pool2="volumes",
                 yes_i_really_really_mean_it_not_faking=True)
    assert result == MonResult(
        -1, b"", "pool deletion is disabled; you must first set the mon_allow_pool_delete "
        "config option to true before you can destroy a pool")
    assert admin.pool_exists("volumes")


def _three_pools(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="volumes", pg_num=128)
    run(admin, "osd pool create", pool="images", pg_num=8)
    run(admin, "osd pool application enable", pool="images", app="rbd")
    run(admin, "osd pool create", pool="backups", pg_num=16)


def test_ls_and_lspools(admin: EmbeddedSession) -> None:
    assert run(admin, "osd pool ls").outbuf == b""
    assert run(admin, "osd lspools").outbuf == b""
    _three_pools(admin)
    assert run(admin, "osd pool ls").outbuf == b"volumes\nimages\nbackups\n"
    assert run(admin, "osd pool ls", format="json").outbuf == b'["volumes","images","backups"]'
    assert run(admin, "osd lspools").outbuf == b"1 volumes\n2 images\n3 backups"
    assert json.loads(run(admin, "osd lspools", format="json").outbuf) == [
        {"poolnum": 1, "poolname": "volumes"}, {"poolnum": 2, "poolname": "images"},
        {"poolnum": 3, "poolname": "backups"}]


def test_ls_detail(admin: EmbeddedSession) -> None:
    _three_pools(admin)
    lines = run(admin, "osd pool ls", detail="detail").outbuf.decode().split("\n")
    assert lines[1] == (
        "pool 2 'images' replicated size 1 min_size 1 crush_rule 0 object_hash rjenkins "
        "pg_num 8 pgp_num 8 autoscale_mode off last_change 4 flags hashpspool stripe_width 0 "
        "application rbd"
    )
    assert lines[0].startswith("pool 1 'volumes' replicated size 1") and lines[0].endswith(
        "last_change 2 flags hashpspool stripe_width 0")
    assert lines[3:] == ["", ""]
    detail = json.loads(run(admin, "osd pool ls", detail="detail", format="json").outbuf)
    assert [p["pool_name"] for p in detail] == ["volumes", "images", "backups"]
    assert detail[1]["application_metadata"] == {"rbd": {}}
    assert detail[1]["pg_num"] == 8 and detail[1]["size"] == 1
    assert detail[1]["last_change"] == "4"


def test_rbd_pool_init_puts_the_pool_in_selfmanaged_snaps_mode(admin: EmbeddedSession) -> None:
    # As Ceph 16: `rbd pool init` allocates (and releases) a self-managed snap id, which sets
    # the pool's selfmanaged_snaps flag for good and is an osdmap change of the pool.
    run(admin, "osd pool create", pool="volumes", pg_num=8)
    before = json.loads(run(admin, "osd pool ls", detail="detail", format="json").outbuf)[0]
    assert (before["flags"], before["flags_names"]) == (1, "hashpspool")
    rbd_pool_init(admin, "volumes")
    after = json.loads(run(admin, "osd pool ls", detail="detail", format="json").outbuf)[0]
    assert (after["flags"], after["flags_names"]) == (8193, "hashpspool,selfmanaged_snaps")
    assert int(after["last_change"]) > int(before["last_change"])
    line = run(admin, "osd pool ls", detail="detail").outbuf.decode()
    assert " flags hashpspool,selfmanaged_snaps stripe_width 0 application rbd\n" in line
    run(admin, "osd pool delete", pool="volumes", pool2="volumes",
        yes_i_really_really_mean_it=True)
    run(admin, "osd pool create", pool="volumes", pg_num=8)  # a new pool: a new id, no flag
    again = json.loads(run(admin, "osd pool ls", detail="detail", format="json").outbuf)[0]
    assert again["flags_names"] == "hashpspool"


def test_get(admin: EmbeddedSession) -> None:
    _three_pools(admin)
    assert run(admin, "osd pool get", pool="volumes", var="pg_num").outbuf == b"pg_num: 128\n"
    assert run(admin, "osd pool get", pool="volumes", var="size").outbuf == b"size: 1\n"
    assert run(admin, "osd pool get", pool="volumes", var="nodelete").outbuf == (
        b"nodelete: false\n")
    assert json.loads(run(admin, "osd pool get", pool="images", var="size",
                          format="json").outbuf) == {"pool": "images", "pool_id": 2, "size": 1}
    everything = run(admin, "osd pool get", pool="images", var="all").outbuf.decode()
    assert everything.startswith("size: 1\nmin_size: 1\npg_num: 8\npgp_num: 8\n")
    assert run(admin, "osd pool get", pool="nope", var="size") == MonResult(
        -2, b"", "unrecognized pool 'nope'")


def test_get_quota(admin: EmbeddedSession) -> None:
    _three_pools(admin)
    assert run(admin, "osd pool get-quota", pool="images").outbuf == (
        b"quotas for pool 'images':\n  max objects: N/A\n  max bytes  : N/A\n")
    assert json.loads(run(admin, "osd pool get-quota", pool="images", format="json").outbuf) == {
        "pool_name": "images", "pool_id": 2, "quota_max_objects": 0, "current_num_objects": 0,
        "quota_max_bytes": 0, "current_num_bytes": 0}


def test_application_enable_disable_get(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="volumes")
    enabled = MonResult(0, b"", "enabled application 'rbd' on pool 'volumes'")
    assert run(admin, "osd pool application enable", pool="volumes", app="rbd") == enabled
    assert run(admin, "osd pool application enable", pool="volumes", app="rbd") == enabled
    assert run(admin, "osd pool application enable", pool="volumes", app="rgw") == MonResult(
        -1, b"", "Are you SURE? Pool 'volumes' already has an enabled application; pass "
        "--yes-i-really-mean-it to proceed anyway")
    assert run(admin, "osd pool application get", pool="volumes").outbuf == (
        b'{\n    "rbd": {}\n}\n')
    assert run(admin, "osd pool application get", pool="volumes", format="json").outbuf == (
        b'{"rbd":{}}')
    assert run(admin, "osd pool application get").outbuf == (
        b'{\n    "volumes": {\n        "rbd": {}\n    }\n}\n')
    assert run(admin, "osd pool application get", pool="volumes", app="rbd").outbuf == b"{}\n"
    assert run(admin, "osd pool application get", pool="volumes", app="rgw") == MonResult(
        -2, b"", "pool 'volumes' has no application 'rgw'")
    assert run(admin, "osd pool application get", pool="volumes", app="rbd", key="k") == (
        MonResult(-2, b"", "application 'rbd' on pool 'volumes' does not have key 'k'"))
    assert run(admin, "osd pool application disable", pool="volumes", app="rbd") == MonResult(
        -1, b"", "Are you SURE? Disabling an application within a pool might result in loss "
        "of application functionality; pass --yes-i-really-mean-it to proceed anyway")
    assert run(admin, "osd pool application disable", pool="volumes", app="rbd",
               yes_i_really_mean_it=True) == MonResult(
        0, b"", "disable application 'rbd' on pool 'volumes'")
    assert run(admin, "osd pool application disable", pool="volumes", app="rbd",
               yes_i_really_mean_it=True) == MonResult(
        0, b"", "application 'rbd' is not enabled on pool 'volumes'")
    assert run(admin, "osd pool application enable", pool="nope", app="rbd") == MonResult(
        -2, b"", "unrecognized pool 'nope'")


def test_application_limits(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="p")
    for app in ("a", "b", "c", "d"):
        run(admin, "osd pool application enable", pool="p", app=app, yes_i_really_mean_it=True)
    assert run(admin, "osd pool application enable", pool="p", app="e",
               yes_i_really_mean_it=True) == MonResult(
        -22, b"", "too many enabled applications on pool 'p'; max 4")
    run(admin, "osd pool create", pool="q")
    long_name = "x" * 129
    assert run(admin, "osd pool application enable", pool="q", app=long_name) == MonResult(
        -22, b"", f"application name '{long_name}' too long; max length 128")


def test_application_set_and_rm(admin: EmbeddedSession) -> None:
    run(admin, "osd pool create", pool="images", pg_num=8)
    assert run(admin, "osd pool application set", pool="images", app="rbd", key="k",
               value="v") == MonResult(-2, b"", "application 'rbd' is not enabled on pool "
                                                "'images'")
    run(admin, "osd pool application enable", pool="images", app="rbd")
    before = run(admin, "osd pool ls", detail="detail", format="json").json()
    assert run(admin, "osd pool application set", pool="images", app="rbd", key="k",
               value="a=b") == MonResult(0, b"", "set application 'rbd' key 'k' to 'a=b' on "
                                                 "pool 'images'")
    after = run(admin, "osd pool ls", detail="detail", format="json").json()
    assert isinstance(before, list) and isinstance(after, list)
    assert after[0]["application_metadata"] == {"rbd": {"k": "a=b"}}
    assert int(after[0]["last_change"]) > int(before[0]["last_change"])
    assert run(admin, "osd pool application get", pool="images", app="rbd",
               key="k").outbuf == b"a=b\n"
    # Ceph 16 names the application, not the key, in this message.
    assert run(admin, "osd pool application set", pool="images", app="rbd", key="k" * 129,
               value="v") == MonResult(-22, b"", "key 'rbd' too long; max length 128")
    assert run(admin, "osd pool application set", pool="images", app="rbd", key="k",
               value="v" * 129).ret == -22
    assert run(admin, "osd pool application rm", pool="images", app="rbd",
               key="k") == MonResult(0, b"", "removed application 'rbd' key 'k' on pool "
                                             "'images'")
    assert run(admin, "osd pool application rm", pool="images", app="rbd",
               key="k") == MonResult(0, b"", "application 'rbd' on pool 'images' does not "
                                             "have key 'k'")
    assert run(admin, "osd pool application rm", pool="images", app="cephfs", key="k").ret == -2
    assert run(admin, "osd pool application set", pool="nosuch", app="rbd", key="k",
               value="v") == MonResult(-2, b"", "unrecognized pool 'nosuch'")


def test_the_monitor_leaves_cli_checks_to_the_cli(admin: EmbeddedSession) -> None:
    # As Ceph 16's monitor, given JSON: no character checks, handlers' own messages.
    assert run(admin, "osd pool create", pool="p", pool_type="bogus") == MonResult(
        -22, b"", "unknown pool type 'bogus'")
    run(admin, "osd pool create", pool="p", pg_num=8)
    assert run(admin, "osd pool get", pool="p", var="colour") == MonResult(
        -22, b"", "pool 'p': invalid variable: 'colour'")
    run(admin, "osd pool application enable", pool="p", app="rbd")
    assert run(admin, "osd pool application set", pool="p", app="rbd", key="bad key",
               value="v").ret == 0
    assert run(admin, "osd pool ls", detail="bogus").outbuf == b"p\n"
