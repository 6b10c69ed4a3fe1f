"""ACL replies compared byte for byte with a real redis-server 7.0.15.

The same ACL commands go to both servers; SETUSER errors, GETUSER/LIST output (for
rules whose description has at most one single-command rule after the categories:
Redis orders several in its command dict's hash order), WHOAMI, NOPERM texts and AUTH
replies must be equal.
"""

from __future__ import annotations

import pytest
from support import RawConnection, ServerFactory

pytestmark = pytest.mark.integration

SCRIPT: list[tuple[str, ...]] = [
    ("ACL", "SETUSER", "bob", "on", ">pw", "~k*", "%R~r*", "&ch", "+@read", "+set"),
    ("ACL", "GETUSER", "bob"),
    ("ACL", "LIST"),
    ("ACL", "USERS"),
    ("ACL", "SETUSER", "y", "resetchannels", "+@all", "-@dangerous"),
    ("ACL", "GETUSER", "y"),
    ("ACL", "SETUSER", "w", "%R~bar", "%W~bar", "+select|0", "+@all", "-set"),
    ("ACL", "GETUSER", "w"),
    ("ACL", "SETUSER", "f", "+select|0", "+select|1"),
    ("ACL", "GETUSER", "f"),
    ("ACL", "SETUSER", "u", "+select|"),
    ("ACL", "SETUSER", "u", "%RR~k"),
    ("ACL", "SETUSER", "u", "+config|get|x"),
    ("ACL", "SETUSER", "u", "+nosuch"),
    ("ACL", "SETUSER", "u", "+@nosuch"),
    ("ACL", "SETUSER", "u", "allkeys", "~foo"),
    ("ACL", "SETUSER", "u", "#abc"),
    ("ACL", "SETUSER", "u", "<nosuch"),
    ("ACL", "GETUSER", "u"),
    ("ACL", "GETUSER", "nosuch"),
    ("ACL", "DELUSER", "default"),
    ("ACL", "DELUSER", "y", "nosuch"),
    ("ACL", "CAT", "nosuch"),
    ("ACL", "GENPASS", "0"),
    ("ACL", "WHOAMI"),
    ("AUTH", "bob", "wrong"),
    ("AUTH", "nosuch", "pw"),
    ("AUTH", "bob", "pw"),
    ("ACL", "WHOAMI"),
    ("GET", "k1"),
    ("GET", "other"),
    ("SET", "k1", "v"),
    ("SET", "r1", "v"),
    ("GET", "r1"),
    ("DEL", "k1"),
    ("PUBLISH", "ch", "m"),
    ("PUBLISH", "other", "m"),
    ("ACL", "LIST"),
    ("AUTH", "default", "x"),
    ("ACL", "WHOAMI"),
]


def test_acl_replies_match_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        for args in SCRIPT:
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"{args}: respcache {got!r}, redis {want!r}"


def test_acl_cat_lists_redis_categories(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        assert a.call("ACL", "CAT") == b.call("ACL", "CAT")


LOG_SCRIPT: list[tuple[str, ...]] = [
    ("ACL", "SETUSER", "bob", "on", ">pw", "~k*", "&ch", "+get", "+publish", "+multi", "+exec"),
    ("AUTH", "bob", "wrong"),
    ("AUTH", "bob", "wrong"),
    ("AUTH", "bob", "pw"),
    ("GET", "other"),
    ("SET", "k1", "v"),
    ("PUBLISH", "nope", "m"),
    ("MULTI",),
    ("GET", "other2"),
    ("EXEC",),
    ("AUTH", "default", "x"),
]


def _log_fields(conn: RawConnection) -> list[list[object]]:
    reply = conn.call("ACL", "LOG")
    out = []
    for entry in reply.value:
        pairs = dict(zip(entry.value[::2], entry.value[1::2], strict=True))
        fields = {k.value: v for k, v in pairs.items()}
        assert sorted(fields) == sorted(
            [
                b"count",
                b"reason",
                b"context",
                b"object",
                b"username",
                b"age-seconds",
                b"client-info",
            ]
        )
        assert b"user=" in fields[b"client-info"].value
        out.append([fields[k] for k in (b"count", b"reason", b"context", b"object", b"username")])
    return out


def test_acl_log_matches_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        for args in LOG_SCRIPT:
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"{args}: respcache {got!r}, redis {want!r}"
        assert _log_fields(a) == _log_fields(b)
        assert a.call("ACL", "LOG", "RESET") == b.call("ACL", "LOG", "RESET")
        assert a.call("ACL", "LOG") == b.call("ACL", "LOG")


DRYRUN_SCRIPT: list[tuple[str, ...]] = [
    ("ACL", "SETUSER", "bob", "on", "~k*", "&ch", "+get", "+publish", "+config|get"),
    ("ACL", "DRYRUN", "bob", "GET", "k1"),
    ("ACL", "DRYRUN", "bob", "GET", "other"),
    ("ACL", "DRYRUN", "bob", "SET", "k1", "v"),
    ("ACL", "DRYRUN", "bob", "PUBLISH", "nope", "m"),
    ("ACL", "DRYRUN", "bob", "CONFIG", "GET", "port"),
    ("ACL", "DRYRUN", "bob", "CONFIG", "SET", "port", "1"),
    ("ACL", "DRYRUN", "bob", "GET"),
    ("ACL", "DRYRUN", "bob", "NOSUCH"),
    ("ACL", "DRYRUN", "nobody", "GET", "k"),
]


def test_acl_dryrun_matches_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        for args in DRYRUN_SCRIPT:
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"{args}: respcache {got!r}, redis {want!r}"
