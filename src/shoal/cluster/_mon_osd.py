"""``osd pool ...`` mon commands, with Ceph's (OSDMonitor) replies.

Pools live in the object store; ``mon.db`` adds the osdmap epoch and each pool's
``last_change``. The embedded cluster has one object store, so every pool is
``replicated size 1 min_size 1`` on ``crush_rule 0``, with ``flags hashpspool``
and no autoscaling (``autoscale_mode off``).

Where shoal differs from Ceph (on purpose): a pool name starting with ``.`` is
refused with EINVAL (Ceph answers 0 and creates nothing); erasure-coded pools and
``size`` > 1 are refused with a clear message; Ceph's per-OSD PG limit
(``mon_max_pg_per_osd``) is not applied, only ``mon_max_pool_pg_num``.
"""

from __future__ import annotations

import errno
from typing import Any

from shoal import errors, limits
from shoal.cluster._base import MonResult
from shoal.cluster._commands import POOL_VARS
from shoal.cluster._format import dump, utime_local
from shoal.cluster._mon import Args, MonContext, fail, handler, ok, reply
from shoal.cluster._mondb import MonDB
from shoal.objstore import PoolInfo, check_pool_name

__all__: list[str] = []

_MAX_POOL_APPLICATIONS = 4
_MAX_POOL_APPLICATION_LENGTH = 128
_DELETE_WARNING = (
    "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool {pool}.  If you are "
    "*ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by "
    "--yes-i-really-really-mean-it."
)
_DELETE_DISABLED = (
    "pool deletion is disabled; you must first set the mon_allow_pool_delete config option "
    "to true before you can destroy a pool"
)


def _find(ctx: MonContext, name: str) -> PoolInfo | None:
    try:
        return ctx.store.get_pool(name)
    except errors.PoolNotFound:
        return None


def _require(ctx: MonContext, name: str) -> PoolInfo:
    pool = _find(ctx, name)
    if pool is None:
        raise errors.PoolNotFound(f"unrecognized pool '{name}'")
    return pool


def _bump(ctx: MonContext, pool_id: int) -> None:
    with ctx.db.write() as conn:
        MonDB.bump_osdmap_epoch(conn, pool_id)


# --- create / delete ----------------------------------------------------------------


def _pg_nums(args: Args) -> int:
    """pg_num (0 or absent: the default), checked like Ceph's prepare_new_pool."""
    pg_num = int(args.get("pg_num") or 0) or limits.pg_num_default
    if pg_num > limits.pg_num_max:
        raise errors.OutOfRange(
            f"'pg_num' must be greater than 0 and less than or equal to {limits.pg_num_max} "
            "(you may adjust 'mon max pool pg num' for higher values)"
        )
    pgp_num = int(args.get("pgp_num") or 0) or pg_num
    if pgp_num > pg_num:
        raise errors.OutOfRange(
            "'pgp_num' must be greater than 0 and lower or equal than 'pg_num', which in "
            f"this case is {pg_num}"
        )
    return pg_num


#: The one crush rule of the embedded cluster (Ceph's default replicated rule).
CRUSH_RULE = "replicated_rule"


def _check_create(name: str, args: Args) -> None:
    if name.startswith("."):
        raise errors.InvalidArgument("pool names beginning with . are not allowed")
    check_pool_name(name)
    if args.get("pool_type") == "erasure":
        raise errors.NotSupported("erasure-coded pools are not supported by the embedded cluster")
    # As Ceph: for a replicated pool the CLI's positional erasure_code_profile is the rule.
    rule = args.get("erasure_code_profile") or args.get("rule")
    if rule and rule != CRUSH_RULE:
        raise errors.NotFound(f"specified rule {rule} doesn't exist")
    if int(args.get("size") or 1) != 1:
        raise errors.InvalidArgument(
            "pool size must be 1: the embedded cluster keeps one copy of each object"
        )


@handler("osd pool create")
def _create(ctx: MonContext, args: Args) -> MonResult:
    name = str(args["pool"])
    if args.get("pool_type", "replicated") not in ("replicated", "erasure"):
        return fail(errno.EINVAL, f"unknown pool type '{args['pool_type']}'")
    existing = _find(ctx, name)
    if existing is not None:
        pool_type = args.get("pool_type", "replicated")
        if pool_type != "replicated":
            return fail(errno.EINVAL, f"pool '{name}' cannot change to type {pool_type}")
        return ok(outs=f"pool '{name}' already exists")
    _check_create(name, args)
    pg_num = _pg_nums(args)
    try:
        pool = ctx.store.create_pool(name, pg_num)
    except errors.PoolExists:
        return ok(outs=f"pool '{name}' already exists")
    _bump(ctx, pool.id)
    return ok(outs=f"pool '{name}' created")


@handler("osd pool delete", "osd pool rm")
def _delete(ctx: MonContext, args: Args) -> MonResult:
    name = str(args["pool"])
    pool = _find(ctx, name)
    if pool is None:
        return ok(outs=f"pool '{name}' does not exist")
    sure = args.get("yes_i_really_really_mean_it") or args.get(
        "yes_i_really_really_mean_it_not_faking"
    )
    if args.get("pool2") != name or not sure:
        return fail(errno.EPERM, _DELETE_WARNING.format(pool=name))
    if not ctx.layout.load_conf().get_bool("mon allow pool delete", "mon", default=False):
        return fail(errno.EPERM, _DELETE_DISABLED)
    try:
        ctx.store.delete_pool(name)
    except errors.PoolNotFound:
        return ok(outs=f"pool '{name}' does not exist")
    with ctx.db.write() as conn:
        MonDB.bump_osdmap_epoch(conn)
        MonDB.forget_pool(conn, pool.id)
    return ok(outs=f"pool '{name}' removed")


# --- listing ------------------------------------------------------------------------


def _pool_line(ctx: MonContext, pool: PoolInfo) -> str:
    line = (
        f"pool {pool.id} '{pool.name}' replicated size 1 min_size 1 crush_rule 0 "
        f"object_hash rjenkins pg_num {pool.pg_num} pgp_num {pool.pg_num} "
        f"autoscale_mode off last_change {ctx.db.pool_last_change(pool.id)} "
        f"flags {_flags(ctx, pool)[1]} stripe_width 0"
    )
    if pool.applications:
        line += " application " + ",".join(sorted(pool.applications))
    return line + "\n"


#: ``pg_pool_t`` flags: FLAG_HASHPSPOOL (always set) and FLAG_SELFMANAGED_SNAPS.
_FLAG_HASHPSPOOL = 1
_FLAG_SELFMANAGED_SNAPS = 1 << 13


def _flags(ctx: MonContext, pool: PoolInfo) -> tuple[int, str]:
    """The pool's flags and their names, as Ceph prints them: a pool that ever allocated
    a self-managed snap id (``rbd pool init`` does) is ``hashpspool,selfmanaged_snaps``."""
    if ctx.db.selfmanaged_snaps(pool.id):
        return _FLAG_HASHPSPOOL | _FLAG_SELFMANAGED_SNAPS, "hashpspool,selfmanaged_snaps"
    return _FLAG_HASHPSPOOL, "hashpspool"


def _pool_dump(ctx: MonContext, pool: PoolInfo) -> dict[str, Any]:
    """The main fields of Ceph's ``pg_pool_t::dump``, for ``osd pool ls detail``."""
    flags, flags_names = _flags(ctx, pool)
    return {
        "pool_id": pool.id, "pool_name": pool.name, "create_time": utime_local(pool.created),
        "flags": flags, "flags_names": flags_names, "type": 1, "size": 1, "min_size": 1,
        "crush_rule": 0, "object_hash": 2, "pg_autoscale_mode": "off",
        "pg_num": pool.pg_num, "pg_placement_num": pool.pg_num,
        "pg_placement_num_target": pool.pg_num, "pg_num_target": pool.pg_num,
        "pg_num_pending": pool.pg_num, "last_change": str(ctx.db.pool_last_change(pool.id)),
        "quota_max_bytes": 0, "quota_max_objects": 0, "tiers": [], "tier_of": -1,
        "erasure_code_profile": "", "stripe_width": 0, "expected_num_objects": 0,
        "fast_read": False, "options": {},
        "application_metadata": {app: dict(kv) for app, kv in pool.applications.items()},
    }


@handler("osd pool ls")
def _ls(ctx: MonContext, args: Args) -> MonResult:
    pools = ctx.store.list_pools()
    detail = args.get("detail") == "detail"
    if ctx.json:
        value = [_pool_dump(ctx, p) for p in pools] if detail else [p.name for p in pools]
        return ok(dump(value, ctx.fmt))
    if detail:
        return ok("".join(_pool_line(ctx, p) for p in pools) + "\n")
    return ok("".join(p.name + "\n" for p in pools))


@handler("osd lspools")
def _lspools(ctx: MonContext, args: Args) -> MonResult:
    pools = ctx.store.list_pools()
    value = [{"poolnum": p.id, "poolname": p.name} for p in pools]
    return reply(ctx, value, "\n".join(f"{p.id} {p.name}" for p in pools))


# --- get / get-quota -----------------------------------------------------------------


def _pool_vars(pool: PoolInfo) -> dict[str, object]:
    """Every ``osd pool get`` variable shoal knows, in Ceph's "all" order."""
    flags = ("hashpspool", "nodelete", "nopgchange", "nosizechange",
             "write_fadvise_dontneed", "noscrub", "nodeep-scrub")
    values: dict[str, object] = {
        "size": 1, "min_size": 1, "pg_num": pool.pg_num, "pgp_num": pool.pg_num,
        "crush_rule": CRUSH_RULE,
    }
    values.update({flag: flag == "hashpspool" for flag in flags})
    values.update({"fast_read": 0, "pg_autoscale_mode": "off"})
    return values


def _plain_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@handler("osd pool get")
def _get(ctx: MonContext, args: Args) -> MonResult:
    pool = _require(ctx, str(args["pool"]))
    known = _pool_vars(pool)
    var = str(args["var"])
    if var not in POOL_VARS:
        return fail(errno.EINVAL, f"pool '{pool.name}': invalid variable: '{var}'")
    if var != "all" and var not in known:
        return fail(errno.ENOENT, f"option '{var}' is not set on pool '{pool.name}'")
    chosen = known if var == "all" else {var: known[var]}
    value = {"pool": pool.name, "pool_id": pool.id, **chosen}
    plain = "".join(f"{k}: {_plain_value(v)}\n" for k, v in chosen.items())
    return reply(ctx, value, plain)


@handler("osd pool get-quota")
def _get_quota(ctx: MonContext, args: Args) -> MonResult:
    pool = _require(ctx, str(args["pool"]))
    stats = ctx.store.pool_stats(pool.name)
    value = {
        "pool_name": pool.name, "pool_id": pool.id, "quota_max_objects": 0,
        "current_num_objects": stats.objects, "quota_max_bytes": 0,
        "current_num_bytes": stats.stored_bytes,
    }
    plain = f"quotas for pool '{pool.name}':\n  max objects: N/A\n  max bytes  : N/A"
    result = reply(ctx, value, plain)
    return result._replace(outbuf=result.outbuf + b"\n")


# --- applications -------------------------------------------------------------------


@handler("osd pool application enable")
def _app_enable(ctx: MonContext, args: Args) -> MonResult:
    pool = _require(ctx, str(args["pool"]))
    app = str(args["app"])
    present = app in pool.applications
    if not present and pool.applications and not args.get("yes_i_really_mean_it"):
        return fail(errno.EPERM, f"Are you SURE? Pool '{pool.name}' already has an enabled "
                    "application; pass --yes-i-really-mean-it to proceed anyway")
    if not present and len(pool.applications) >= _MAX_POOL_APPLICATIONS:
        return fail(errno.EINVAL, f"too many enabled applications on pool '{pool.name}'; "
                    f"max {_MAX_POOL_APPLICATIONS}")
    if len(app) > _MAX_POOL_APPLICATION_LENGTH:
        return fail(errno.EINVAL, f"application name '{app}' too long; max length "
                    f"{_MAX_POOL_APPLICATION_LENGTH}")
    if not present:
        ctx.store.set_pool_application(pool.name, app, enabled=True)
        _bump(ctx, pool.id)
    return ok(outs=f"enabled application '{app}' on pool '{pool.name}'")


@handler("osd pool application disable")
def _app_disable(ctx: MonContext, args: Args) -> MonResult:
    pool = _require(ctx, str(args["pool"]))
    app = str(args["app"])
    if not args.get("yes_i_really_mean_it"):
        return fail(errno.EPERM, "Are you SURE? Disabling an application within a pool might "
                    "result in loss of application functionality; pass --yes-i-really-mean-it "
                    "to proceed anyway")
    if app not in pool.applications:
        return ok(outs=f"application '{app}' is not enabled on pool '{pool.name}'")
    ctx.store.set_pool_application(pool.name, app, enabled=False)
    _bump(ctx, pool.id)
    return ok(outs=f"disable application '{app}' on pool '{pool.name}'")


def _enabled_app(ctx: MonContext, args: Args) -> tuple[PoolInfo, str]:
    pool = _require(ctx, str(args["pool"]))
    app = str(args["app"])
    if app not in pool.applications:
        raise errors.NotFound(f"application '{app}' is not enabled on pool '{pool.name}'")
    return pool, app


@handler("osd pool application set")
def _app_set(ctx: MonContext, args: Args) -> MonResult:
    pool, app = _enabled_app(ctx, args)
    key, value = str(args["key"]), str(args["value"])
    if len(key) > _MAX_POOL_APPLICATION_LENGTH:  # Ceph 16 names the app here, not the key
        return fail(errno.EINVAL, f"key '{app}' too long; max length "
                    f"{_MAX_POOL_APPLICATION_LENGTH}")
    if len(value) > _MAX_POOL_APPLICATION_LENGTH:
        return fail(errno.EINVAL, f"value '{value}' too long; max length "
                    f"{_MAX_POOL_APPLICATION_LENGTH}")
    ctx.store.set_pool_application(pool.name, app, enabled=True, key=key, value=value)
    _bump(ctx, pool.id)
    return ok(outs=f"set application '{app}' key '{key}' to '{value}' on pool '{pool.name}'")


@handler("osd pool application rm")
def _app_rm(ctx: MonContext, args: Args) -> MonResult:
    pool, app = _enabled_app(ctx, args)
    key = str(args["key"])
    if key not in pool.applications[app]:
        return ok(outs=f"application '{app}' on pool '{pool.name}' does not have key '{key}'")
    ctx.store.set_pool_application(pool.name, app, enabled=False, key=key)
    _bump(ctx, pool.id)
    return ok(outs=f"removed application '{app}' key '{key}' on pool '{pool.name}'")


@handler("osd pool application get")
def _app_get(ctx: MonContext, args: Args) -> MonResult:
    fmt = ctx.fmt if ctx.json else "json-pretty"
    if "pool" not in args:
        pools = ctx.store.list_pools()
        return ok(dump({p.name: _apps(p) for p in pools}, fmt))
    pool = _require(ctx, str(args["pool"]))
    if "app" not in args:
        return ok(dump(_apps(pool), fmt))
    app = str(args["app"])
    if app not in pool.applications:
        return fail(errno.ENOENT, f"pool '{pool.name}' has no application '{app}'")
    if "key" not in args:
        return ok(dump(dict(pool.applications[app]), fmt))
    key = str(args["key"])
    if key not in pool.applications[app]:
        return fail(errno.ENOENT, f"application '{app}' on pool '{pool.name}' does not have "
                    f"key '{key}'")
    return ok(pool.applications[app][key] + "\n")


def _apps(pool: PoolInfo) -> dict[str, dict[str, str]]:
    return {app: dict(kv) for app, kv in pool.applications.items()}

