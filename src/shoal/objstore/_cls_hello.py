"""The ``hello`` object class, after Ceph's ``cls_hello`` (on the default allow-list).

It exists so that class-read and class-write capabilities can be exercised
end-to-end on both backends:

- ``hello.say_hello`` (RD): returns ``b"Hello, <input>!"`` or ``b"Hello, world!"``.
- ``hello.record_hello`` (WR): writes ``b"Hello, <input>!"`` as the whole object;
  EEXIST if the object already exists.
"""

from __future__ import annotations

from shoal import errors
from shoal.objstore._ops import MethodFlags, ObjectContext, register_method


@register_method("hello", "say_hello", MethodFlags.RD)
def say_hello(ctx: ObjectContext, data: bytes) -> bytes:
    if len(data) > 100:
        raise errors.InvalidArgument("input too long")
    return b"Hello, " + (data or b"world") + b"!"


@register_method("hello", "record_hello", MethodFlags.WR)
def record_hello(ctx: ObjectContext, data: bytes) -> bytes:
    if not data or len(data) > 100:
        raise errors.InvalidArgument("input must be 1..100 bytes")
    if ctx.exists():
        raise errors.AlreadyExists(f"object {ctx.oid!r} exists")
    ctx.write_full(b"Hello, " + data + b"!")
    return b""
