"""cephx caps: parsing, Ceph's OSD/mon permission semantics, validation."""

from __future__ import annotations

import pytest

from shoal import errors
from shoal.cluster.caps import (
    MON_COMMAND_PERMS,
    MonCaps,
    OsdCaps,
    parse_mon_caps,
    parse_osd_caps,
    validate_caps,
)

# The exact strings from the OpenStack-on-Ceph guides (seeds/).
CINDER_OSD = (
    "allow class-read object_prefix rbd_children, allow rwx pool=volumes, "
    "allow rwx pool=vms, allow rx pool=images"
)
CINDER_OSD_APPENDIX = (
    "allow class-read object_prefix rbd_children, allow rwx pool=volumes, allow rx pool=images"
)
GLANCE_OSD = "allow class-read object_prefix rbd_children, allow rwx pool=images"
BACKUP_OSD = "allow class-read object_prefix rbd_children, allow rwx pool=backups"

DATA_OID = "rbd_data.1234abcd.0000000000000000"
HEADER_OID = "rbd_header.1234abcd"


# --------------------------------------------------------------------------
# the guides' users: pools x operations
# --------------------------------------------------------------------------


def _op(caps: OsdCaps, pool: str, op: str) -> bool:
    """Run one of the matrix operations against ``caps`` in ``pool``."""
    if op == "read":
        return caps.allows(pool, "", DATA_OID, read=True)
    if op == "write":
        return caps.allows(pool, "", DATA_OID, write=True)
    if op == "class-read":  # cls_rbd get_size: CLS_METHOD_RD
        return caps.allows(pool, "", HEADER_OID, cls="rbd", method="get_size", class_read=True)
    if op == "class-write":  # cls_rbd set_size: CLS_METHOD_RD | CLS_METHOD_WR
        return caps.allows(
            pool, "", HEADER_OID, cls="rbd", method="set_size", class_read=True, class_write=True
        )
    assert op == "children"  # clone v1 unprotect scan: rbd.get_children on rbd_children
    return caps.allows(pool, "", "rbd_children", cls="rbd", method="get_children", class_read=True)


OPS = ("read", "write", "class-read", "class-write", "children")

# fmt: off
GUIDE_MATRIX = [
    # caps                 pool        read   write  cls-rd cls-wr children
    (CINDER_OSD,          "images",  (True,  False, True,  True,  True)),  # x = cls rd+wr
    (CINDER_OSD,          "volumes", (True,  True,  True,  True,  True)),
    (CINDER_OSD,          "vms",     (True,  True,  True,  True,  True)),
    (CINDER_OSD,          "backups", (False, False, False, False, True)),
    (CINDER_OSD_APPENDIX, "images",  (True,  False, True,  True,  True)),
    (CINDER_OSD_APPENDIX, "volumes", (True,  True,  True,  True,  True)),
    (CINDER_OSD_APPENDIX, "vms",     (False, False, False, False, True)),
    (CINDER_OSD_APPENDIX, "backups", (False, False, False, False, True)),
    (GLANCE_OSD,          "images",  (True,  True,  True,  True,  True)),
    (GLANCE_OSD,          "volumes", (False, False, False, False, True)),
    (GLANCE_OSD,          "vms",     (False, False, False, False, True)),
    (GLANCE_OSD,          "backups", (False, False, False, False, True)),
    (BACKUP_OSD,          "images",  (False, False, False, False, True)),
    (BACKUP_OSD,          "volumes", (False, False, False, False, True)),
    (BACKUP_OSD,          "vms",     (False, False, False, False, True)),
    (BACKUP_OSD,          "backups", (True,  True,  True,  True,  True)),
]
# fmt: on


@pytest.mark.parametrize(("caps_text", "pool", "expected"), GUIDE_MATRIX)
def test_guide_users_matrix(caps_text: str, pool: str, expected: tuple[bool, ...]) -> None:
    caps = parse_osd_caps(caps_text)
    got = tuple(_op(caps, pool, op) for op in OPS)
    assert got == expected


@pytest.mark.parametrize("caps_text", [CINDER_OSD, GLANCE_OSD, BACKUP_OSD])
def test_rbd_children_is_class_read_only(caps_text: str) -> None:
    caps = parse_osd_caps(caps_text)
    assert not caps.allows("elsewhere", "", "rbd_children", read=True)
    assert not caps.allows(
        "elsewhere", "", "rbd_children", cls="rbd", method="add_child", class_write=True
    )
    assert caps.allows("elsewhere", "ns", "rbd_children_x", cls="rbd", class_read=True)


def test_guide_strings_keep_text_and_grants() -> None:
    caps = parse_osd_caps(CINDER_OSD)
    assert caps.text == CINDER_OSD
    assert str(caps) == CINDER_OSD
    assert [g.match.pool for g in caps.grants] == [None, "volumes", "vms", "images"]
    assert caps.grants[0].match.object_prefix == "rbd_children"
    assert not caps.allow_all


# --------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------


def test_profile_rbd_pool() -> None:
    caps = parse_osd_caps("profile rbd pool=volumes")
    for op in OPS:
        assert _op(caps, "volumes", op), op
    assert [_op(caps, "images", op) for op in OPS] == [False, False, False, False, True]
    # every pool: r on rbd_info, class-read on rbd_mirroring
    assert caps.allows("images", "", "rbd_info", read=True)
    assert not caps.allows("images", "", "rbd_info", write=True)
    assert caps.allows("images", "", "rbd_mirroring", cls="rbd", class_read=True)
    # metadata_list on rbd_info only in the profile's pool
    assert caps.allows(
        "volumes", "", "rbd_info", cls="rbd", method="metadata_list", class_read=True
    )
    assert not caps.allows(
        "images", "", "rbd_info", cls="rbd", method="metadata_list", class_read=True
    )


def test_profile_rbd_without_pool_covers_all_pools() -> None:
    caps = parse_osd_caps("profile rbd")
    assert caps.allows("anything", "ns", DATA_OID, read=True, write=True)
    assert not caps.allow_all


def test_profile_rbd_read_only() -> None:
    caps = parse_osd_caps("profile rbd-read-only pool=images")
    # r + class-read on the pool (rbd_children there included), no writes
    assert [_op(caps, "images", op) for op in OPS] == [True, False, True, False, True]
    assert [_op(caps, "volumes", op) for op in OPS] == [False] * 5
    for method in ("child_attach", "child_detach"):
        assert caps.allows(
            "images", "", HEADER_OID, cls="rbd", method=method, class_read=True, class_write=True
        )
        assert not caps.allows(
            "images", "", DATA_OID, cls="rbd", method=method, class_read=True, class_write=True
        )
        assert not caps.allows(
            "volumes", "", HEADER_OID, cls="rbd", method=method, class_read=True, class_write=True
        )


def test_profile_read_only_and_read_write() -> None:
    ro = parse_osd_caps("profile read-only pool=p")
    rw = parse_osd_caps("profile=read-write pool p")
    assert ro.allows("p", "", "o", read=True)
    assert not ro.allows("p", "", "o", write=True)
    assert rw.allows("p", "", "o", read=True, write=True)
    assert not rw.allows("p", "", "o", cls="rbd", class_read=True)
    assert not rw.allows("q", "", "o", read=True)


def test_profile_namespace() -> None:
    caps = parse_osd_caps("profile rbd pool=p namespace=tenant1")
    assert caps.allows("p", "tenant1", DATA_OID, read=True, write=True)
    assert not caps.allows("p", "", DATA_OID, read=True)


@pytest.mark.parametrize("name", ["simple-rados-client", "abc", "rbd-mirror"])
def test_unknown_osd_profiles_grant_nothing(name: str) -> None:
    caps = parse_osd_caps(f"profile {name} pool=p")
    assert not caps.allows("p", "", "o", read=True)
    assert caps.grants[0].profile == name


# --------------------------------------------------------------------------
# allow *, pools, namespaces, prefixes, tags
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["allow *", "allow all", "  allow   *  "])
def test_allow_star(text: str) -> None:
    caps = parse_osd_caps(text)
    assert caps.allow_all
    assert caps.allows("any", "ns", "obj", read=True, write=True, cls="x", class_write=True)


def test_quoted_pool_names() -> None:
    caps = parse_osd_caps("allow rwx pool=\"x y\"; allow r pool 'weird name'")
    assert caps.allows("x y", "", "o", read=True, write=True)
    assert not caps.allows("x", "", "o", read=True)
    assert caps.allows("weird name", "", "o", read=True)
    assert not caps.allows("weird name", "", "o", write=True)


@pytest.mark.parametrize(
    "text",
    [
        "allow r pool=a; allow rwx pool=b",
        "allow r pool=a ;allow rwx pool=b",
        "allow pool a r , allow pool b rwx",
        "\tallow\nr\tpool \n a\t;allow rwx pool b",
    ],
)
def test_separators_and_whitespace(text: str) -> None:
    caps = parse_osd_caps(text)
    assert caps.allows("a", "", "o", read=True)
    assert not caps.allows("a", "", "o", write=True)
    assert caps.allows("b", "", "o", read=True, write=True)


def test_grant_needs_read_and_write_in_one_grant() -> None:
    # Ceph checks r/w per grant; they are not unioned across grants.
    caps = parse_osd_caps("allow r, allow w")
    assert caps.allows("p", "", "o", read=True)
    assert caps.allows("p", "", "o", write=True)
    assert not caps.allows("p", "", "o", read=True, write=True)


def test_broad_read_plus_pool_rwx() -> None:
    caps = parse_osd_caps("allow r, allow rwx pool foo")
    assert caps.allows("foo", "", "o", read=True, write=True, cls="c", class_write=True)
    assert caps.allows("bar", "", "o", read=True)
    assert not caps.allows("bar", "", "o", read=True, write=True)


def test_object_prefix() -> None:
    caps = parse_osd_caps("allow rwx object_prefix foo")
    for oid in ("foo", "food", "foo_bar"):
        assert caps.allows("bar", "", oid, read=True, write=True), oid
    for oid in ("_foo", " foo ", "fo"):
        assert not caps.allows("bar", "", oid, read=True), oid


def test_namespaces() -> None:
    exact = parse_osd_caps("allow rw pool=p namespace=nfoo")
    assert exact.allows("p", "nfoo", "o", read=True, write=True)
    assert not exact.allows("p", "", "o", read=True)
    assert not exact.allows("p", "nfoobar", "o", read=True)
    glob = parse_osd_caps("allow rw namespace=nfoo*")
    assert glob.allows("any", "nfoo", "o", read=True)
    assert glob.allows("any", "nfoobar", "o", read=True)
    assert not glob.allows("any", "nfo", "o", read=True)
    default_only = parse_osd_caps('allow r pool p namespace ""')
    assert default_only.allows("p", "", "o", read=True)
    assert not default_only.allows("p", "x", "o", read=True)
    everything = parse_osd_caps("allow r namespace=*")
    assert everything.allows("p", "x", "o", read=True)
    unrestricted = parse_osd_caps("allow r pool=p")
    assert unrestricted.allows("p", "any-namespace", "o", read=True)


def test_class_spec_grants() -> None:
    caps = parse_osd_caps("allow pool data rw, allow pool images class rbd foo")
    assert caps.allows("images", "", "o", cls="rbd", method="foo", class_read=True)
    assert not caps.allows("images", "", "o", cls="rbd", method="bar", class_read=True)
    assert not caps.allows("images", "", "o", cls="lock", method="foo", class_read=True)
    # a class spec grants no r/w, so an op that also reads is refused
    assert not caps.allows("images", "", "o", read=True, cls="rbd", method="foo")
    # rw without x refuses class calls
    assert not caps.allows("data", "", "o", cls="rbd", method="foo", class_read=True)
    any_method = parse_osd_caps('allow class clsname "weird method"')
    assert any_method.grants[0].method == "weird method"
    assert parse_osd_caps("allow class lock").allows(
        "p", "", "o", cls="lock", method="lock", class_read=True, class_write=True
    )


def test_class_read_and_class_write_bits() -> None:
    caps = parse_osd_caps("allow r class-read pool foo")
    assert caps.allows("foo", "", "o", read=True, cls="rbd", class_read=True)
    assert not caps.allows("foo", "", "o", cls="rbd", class_read=True, class_write=True)
    both = parse_osd_caps("allow rw class-read class-write pool foo")
    assert both.allows("foo", "", "o", read=True, write=True, cls="c", class_write=True)


def test_tags_need_application_metadata() -> None:
    caps = parse_osd_caps("allow rw tag cephfs data=fs1")
    assert caps.allows("p", "", "o", read=True, app_metadata={"cephfs": {"data": "fs1"}})
    assert not caps.allows("p", "", "o", read=True, app_metadata={"cephfs": {"data": "fs2"}})
    assert not caps.allows("p", "", "o", read=True, app_metadata={})
    assert not caps.allows("p", "", "o", read=True)
    wild = parse_osd_caps("allow rwx tag rbd *=*")
    assert wild.allows("p", "", "o", read=True, app_metadata={"rbd": {}})
    assert not wild.allows("p", "", "o", read=True, app_metadata={"rgw": {}})
    value_wild = parse_osd_caps("allow all tag application all=all")
    assert value_wild.grants[0].match.tag is not None
    assert value_wild.grants[0].match.tag.key == "*"
    any_key = parse_osd_caps("allow r tag cephfs * = fs1")
    assert any_key.allows("p", "", "o", read=True, app_metadata={"cephfs": {"meta": "fs1"}})


def test_network_is_parsed_but_not_enforced() -> None:
    caps = parse_osd_caps("allow rwx pool=p network 10.0.0.0/8, profile rbd network [ff::1]/128")
    assert caps.grants[0].network == "10.0.0.0/8"
    assert caps.grants[1].network == "[ff::1]/128"
    assert caps.allows("p", "", "o", read=True, write=True)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_caps_allow_nothing(text: str) -> None:
    caps = parse_osd_caps(text)
    assert caps.grants == ()
    assert not caps.allows("p", "", "o")


# --------------------------------------------------------------------------
# grammar: Ceph's own accept/reject lists (src/test/osd/osdcap.cc)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "allow r pool foo ",
        "allow wx pool taco object_prefix obj",
        "allow pool taco object_prefix obj_with_underscores_and_no_quotes wx",
        "allow rwx pool \"weird name with ''s\"",
        "allow pool foo.froo.foo rwx, allow pool bar r",
        "allow class-read class-write",
        "allow r   pool    foo    object_prefix   blah   ;   allow   w",
        "allow class-read object_prefix rbd-children, allow pool libvirt_pool_test rwx",
        "allow pool foo namespace=nfoo rwx; allow pool bar namespace nbar object_prefix rbd r",
        "allow rwx namespace=nfoo tag cephfs data=cephfs_a",
        "allow rwx namespace foo tag cephfs data =cephfs_a",
        "allow pool foo namespace=\"\" rwx; allow pool bar namespace='' object_prefix rbd r",
        "profile abc, profile abc pool=bar, profile abc pool=bar namespace=foo",
        "allow rwx tag application key  =   value",
        "allow rwx network ::1/128",
        "profile foo network 127.0.0.1/8",
        "allow rwx namespace foo tag cephfs data =cephfs_a network 127.0.0.1/8",
    ],
)
def test_ceph_good_strings_parse(text: str) -> None:
    parse_osd_caps(text)
    validate_caps("osd", text)


@pytest.mark.parametrize(
    ("text", "position", "token"),
    [
        ("allow rwz pool=x", 6, "'rwz'"),
        ("allow", 5, "end of input"),
        ("deny r", 0, "'deny'"),
        ("allow r pool=", 13, "'pool'"),
        ("profile", 7, "'profile'"),
        ("allow r poolfoo", 8, "'poolfoo'"),
        ("allow r w", 8, "'w'"),
        ("ALLOW r", 0, "'ALLOW'"),
        ("allow rwx,", 10, "end of input"),
        ("allow rwx x", 10, "'x'"),
        ("allow r pool foo r", 17, "'r'"),
        ("allow wwx pool taco", 6, "'wwx'"),
        ("allow xrwx pool foo,, allow r pool bar", 6, "'xrwx'"),
        ("allow rw pool foo,, allow r pool bar", 18, "','"),
        (";allow rwx pool foo", 0, "';'"),
        ("allow rwx pool foo ;allow r pool bar gibberish", 37, "'gibberish'"),
        ('allow rwx object_prefix "beforepool" pool weird', 37, "'pool'"),
        ("allow rwx pool 'weird name''", 27, '"\'"'),
        ("allow rwx namespace", 19, "'namespace'"),
        ("allow namespace=foo", 19, "end of input"),
        ("allow namespace=f*oo", 18, "'oo'"),
        ("allow rw pool ''", 14, "empty quoted"),
        ("allow rwx tag application key value", 30, "'value'"),
        ("allow r object_prefix=rbd", 21, "'object_prefix'"),
        ("allow class rbd pool=foo", 16, "'pool'"),
        ("allow profile rbd", 6, "without 'allow'"),
        ("allow rwx network", 17, "'network'"),
    ],
)
def test_bad_osd_caps_name_token_and_position(text: str, position: int, token: str) -> None:
    with pytest.raises(errors.BadCaps) as info:
        parse_osd_caps(text)
    message = str(info.value)
    assert f"position {position}" in message
    assert token in message
    assert isinstance(info.value, errors.InvalidArgument)


def test_class_method_named_like_a_keyword_at_the_end_is_kept() -> None:
    # Ceph reads any word after 'class NAME' as the method, even 'pool'.
    caps = parse_osd_caps("allow class rbd pool")
    assert (caps.grants[0].cls, caps.grants[0].method) == ("rbd", "pool")
    assert parse_osd_caps("allow pool foo class rbd").grants[0].match.pool == "foo"


# --------------------------------------------------------------------------
# mon caps
# --------------------------------------------------------------------------


def _mon(text: str) -> MonCaps:
    return parse_mon_caps(text)


def test_mon_allow_r() -> None:
    caps = _mon("allow r")
    assert caps.allows_command("osd pool ls")
    assert caps.allows_command("status")
    assert caps.allows_command("osd dump")
    assert not caps.allows_command("osd pool create")
    assert not caps.allows_command("auth get-or-create")
    assert not caps.allows_command("auth get")  # needs rx
    assert not caps.allows_command("osd blocklist", {"blocklistop": "add", "addr": "1.2.3.4:0/1"})
    assert caps.allows("osd", "osd pool ls", read=True)
    assert not caps.allows("osd", "osd pool ls", read=True, write=True)


def test_mon_allow_star_permits_every_command() -> None:
    caps = _mon("allow *")
    assert caps.allow_all
    for prefix in MON_COMMAND_PERMS:
        assert caps.allows_command(prefix), prefix
    assert caps.allows("config-key", "config-key get", read=True)


def test_mon_plain_rwx_does_not_open_config_key() -> None:
    caps = _mon("allow rwx")
    assert caps.allows_command("auth get-or-create")
    assert caps.allows_command("osd pool delete")
    assert not caps.allows_command("config-key get", {"key": "k"})
    assert not caps.allow_all


@pytest.mark.parametrize("text", ["profile rbd", "allow profile rbd", "profile=rbd"])
def test_mon_profile_rbd(text: str) -> None:
    caps = _mon(text)
    add = {"blocklistop": "add", "addr": "10.0.0.5:0/3710147553"}
    assert caps.allows_command("osd blocklist", add)
    assert caps.allows_command(
        "osd blacklist", {"blacklistop": "add", "addr": "10.0.0.5:0/3710147553"}
    )
    assert not caps.allows_command("osd blocklist", {**add, "blocklistop": "rm"})
    assert not caps.allows_command("osd blocklist", {**add, "addr": "10.0.0.5:0"})
    assert not caps.allows_command("osd blocklist")  # constrained args must be present
    assert not caps.allows_command("osd blocklist clear")
    assert caps.allows_command("osd pool ls")
    assert caps.allows_command("mon dump")
    assert caps.allows("pg", "pg stat", read=True)
    assert not caps.allows_command("osd pool create")
    assert not caps.allows_command("auth get")
    assert not caps.allows_command("config get")


def test_mon_profiles_from_ceph() -> None:
    assert _mon("profile rbd-mirror").allows_command("config-key get", {"key": "rbd/mirror/x"})
    assert not _mon("profile rbd").allows_command("config-key get", {"key": "rbd/mirror/x"})
    rados = _mon("profile simple-rados-client")
    assert rados.allows_command("osd dump")
    assert not rados.allows_command("osd blocklist", {"blocklistop": "add", "addr": "a:0/1"})
    assert _mon("profile simple-rados-client-with-blocklist").allows_command(
        "osd blocklist", {"blocklistop": "add", "addr": "a:0/1"}
    )
    osd = _mon("allow profile osd")
    assert osd.allows_command("osd pool create")
    assert not osd.allows_command("auth get")
    assert _mon("profile mgr").allows_command("auth get")
    assert not _mon("profile mgr").allows_command("auth get-or-create")
    assert _mon("profile role-definer").allows_command("auth get-or-create")
    boot = _mon("profile bootstrap-osd")
    assert boot.allows("osd", "osd new", read=True, write=True)
    assert not boot.allows_command("osd pool create")
    assert not _mon("profile no-such-profile").allows_command("status")


def test_mon_bootstrap_rbd_limits_new_clients() -> None:
    caps = _mon("profile bootstrap-rbd")
    ok = {"entity": "client.cinder", "caps_mon": "profile rbd", "caps_osd": "profile rbd pool=v"}
    assert caps.allows_command("auth get-or-create", ok)
    assert not caps.allows_command("auth get-or-create", {**ok, "caps_osd": "allow *"})
    assert not caps.allows_command("auth get-or-create", {**ok, "entity": "mon.a"})


def test_mon_service_grants() -> None:
    caps = _mon("allow service osd rw, allow service=mon r")
    assert caps.allows_command("osd pool create")
    assert caps.allows_command("status")
    assert not caps.allows_command("auth ls")
    # union across grants: r from one grant and w from another
    split = _mon("allow service osd r; allow service osd w")
    assert split.allows_command("osd pool create")


def test_mon_command_grants_with_constraints() -> None:
    caps = _mon('allow command "auth get" with entity=client.x, allow command=fsid')
    assert caps.allows_command("auth get", {"entity": "client.x"})
    assert not caps.allows_command("auth get", {"entity": "client.y"})
    assert caps.allows_command("fsid")
    assert not caps.allows_command("status")
    prefixed = _mon('allow command "config-key get" with key prefix "rbd/"')
    assert prefixed.allows_command("config-key get", {"key": "rbd/a"})
    assert not prefixed.allows_command("config-key get", {"key": "rgw/a"})
    regex = _mon('allow command "osd pool get" with pool regex "vol.*" var=size')
    assert regex.allows_command("osd pool get", {"pool": "volumes", "var": "size"})
    assert not regex.allows_command("osd pool get", {"pool": "avolumes", "var": "size"})
    assert not regex.allows_command("osd pool get", {"pool": "volumes", "var": "pg_num"})


def test_mon_network_parsed() -> None:
    caps = _mon("allow r network 10.0.0.0/8, allow command fsid network ::1/128")
    assert caps.grants[0].network == "10.0.0.0/8"
    assert caps.grants[1].network == "::1/128"
    assert caps.allows_command("status")


def test_mon_command_table_covers_required_prefixes() -> None:
    required = {
        "osd pool create": ("osd", "rw"),
        "osd pool delete": ("osd", "rw"),
        "osd pool rm": ("osd", "rw"),
        "osd pool ls": ("osd", "r"),
        "osd pool get": ("osd", "r"),
        "osd pool set": ("osd", "rw"),
        "osd pool application enable": ("osd", "rw"),
        "osd pool application disable": ("osd", "rw"),
        "osd pool application set": ("osd", "rw"),
        "osd pool application get": ("osd", "r"),
        "osd pool stats": ("osd", "r"),
        "df": ("mon", "r"),
        "status": ("mon", "r"),
        "health": ("mon", "r"),
        "fsid": ("mon", "r"),
        "mon dump": ("mon", "r"),
        "osd dump": ("osd", "r"),
        "osd lspools": ("osd", "r"),
        "auth get-or-create": ("auth", "rwx"),
        "auth get-or-create-key": ("auth", "rwx"),
        "auth get": ("auth", "rx"),
        "auth get-key": ("auth", "rx"),
        "auth caps": ("auth", "rwx"),
        "auth del": ("auth", "rwx"),
        "auth rm": ("auth", "rwx"),
        "auth ls": ("auth", "rx"),
        "auth list": ("auth", "rx"),
        "auth add": ("auth", "rwx"),
        "auth import": ("auth", "rwx"),
        "auth export": ("auth", "rx"),
        "auth print-key": ("auth", "rx"),
        "osd blocklist": ("osd", "rw"),
        "config get": ("config", "r"),
        "config set": ("config", "rw"),
    }
    for prefix, perms in required.items():
        assert MON_COMMAND_PERMS[prefix] == perms, prefix


def test_mon_unknown_command_prefix() -> None:
    with pytest.raises(errors.InvalidArgument):
        _mon("allow *").allows_command("no such command")


@pytest.mark.parametrize(
    ("text", "position", "token"),
    [
        ("allow", 5, "'allow'"),
        ("allow rwz", 6, "'rwz'"),
        ("deny r", 0, "'deny'"),
        ("allow r,", 8, "end of input"),
        ("allow service osd", 17, "'osd'"),
        ("allow service osd rwq", 18, "'rwq'"),
        ("profile", 7, "'profile'"),
        ("allow command osd pool ls", 18, "'pool'"),
        ("allow command", 13, "'command'"),
        ('allow command "auth get" with', 29, "'with'"),
        ('allow command "auth get" with entity', 30, "'entity'"),
        ("allow r w", 8, "'w'"),
    ],
)
def test_bad_mon_caps(text: str, position: int, token: str) -> None:
    with pytest.raises(errors.BadCaps) as info:
        parse_mon_caps(text)
    assert f"position {position}" in str(info.value)
    assert token in str(info.value)


# --------------------------------------------------------------------------
# validate_caps for every service
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "text"),
    [
        ("mon", "allow r"),
        ("mon", "profile rbd"),
        ("osd", CINDER_OSD),
        ("osd", "profile rbd pool=volumes, profile rbd-read-only pool=images"),
        ("mgr", "allow *"),
        ("mgr", "allow r"),
        ("mgr", "profile rbd pool=volumes"),
        ("mgr", "profile rbd pool=volumes namespace=n"),
        ("mgr", "allow profile crash"),
        ("mgr", 'allow service status r, allow command "osd pool ls"'),
        ("mgr", "allow module rbd_support with pool=volumes rw"),
        ("mgr", "allow module=balancer r network 10.0.0.0/8"),
        ("mds", "allow"),
        ("mds", "allow *"),
        ("mds", "allow rw path=/volumes"),
        ("mds", "allow rwps fsname=cephfs path=/ root_squash"),
        ("mds", 'allow r uid=1000 gids=1000,1001, allow rw path="/a b"'),
        ("mon", ""),
        ("osd", ""),
        ("mgr", ""),
        ("mds", ""),
    ],
)
def test_validate_caps_accepts(service: str, text: str) -> None:
    validate_caps(service, text)


@pytest.mark.parametrize(
    ("service", "text", "token"),
    [
        ("osd", "allow rwz pool=x", "'rwz'"),
        ("mon", "allow rwz", "'rwz'"),
        ("mgr", "allow rwz", "'rwz'"),
        ("mgr", "profile", "'profile'"),
        ("mgr", "allow module foo", "end of input"),
        ("mds", "allow rwx", "'rwx'"),
        ("mds", "allow rw path", "'path'"),
        ("mds", "allow rw uid=x", "after 'uid='"),
        ("mds", "deny", "'deny'"),
        ("mds", "allow rw path=/a path=/b", "twice"),
    ],
)
def test_validate_caps_rejects(service: str, text: str, token: str) -> None:
    with pytest.raises(errors.BadCaps) as info:
        validate_caps(service, text)
    assert token in str(info.value)


def test_validate_caps_unknown_service() -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        validate_caps("rgw", "allow *")
    assert not isinstance(info.value, errors.BadCaps)
    assert "rgw" in str(info.value)
