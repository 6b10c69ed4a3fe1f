"""ACL replies compared byte for byte with a real redis-server 7.0.15.

The same ACL commands go to both servers; SETUSER errors, GETUSER/LIST output (for
rules whose description has at most one single-command rule after the categories:
Redis orders several in its command dict's hash order), WHOAMI, NOPERM texts and AUTH
replies must be equal.
"""

from __future__ import annotations

from pathlib import Path

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


# --- selectors, key permissions by key spec, HELP, LOAD/SAVE without a file ----------------

SELECTOR_SCRIPT: list[tuple[str, ...]] = [
    ("ACL", "SETUSER", "s1", "on", "nopass", "~a*", "+get", "(~b* +set)", "(%W~w* +lpush)"),
    ("ACL", "GETUSER", "s1"),
    ("ACL", "LIST"),
    ("ACL", "SETUSER", "s2", "(", "+get", "~x)", "(&ch", "+publish)"),
    ("ACL", "GETUSER", "s2"),
    ("ACL", "SETUSER", "s3", "on", "(+get"),
    ("ACL", "SETUSER", "s3", "(+nosuch)"),
    ("ACL", "SETUSER", "s3", "(~a ~* )"),
    ("ACL", "SETUSER", "s3", "(nopass)"),
    ("ACL", "SETUSER", "s3", "x(+get)"),
    ("ACL", "SETUSER", "bad user"),
    ("ACL", "GETUSER", "s3"),
    ("ACL", "DRYRUN", "s1", "GET", "a1"),
    ("ACL", "DRYRUN", "s1", "GET", "b1"),
    ("ACL", "DRYRUN", "s1", "SET", "b1", "v"),
    ("ACL", "DRYRUN", "s1", "SET", "a1", "v"),
    ("ACL", "DRYRUN", "s1", "LPUSH", "w1", "v"),
    ("ACL", "DRYRUN", "s1", "LPUSH", "a1", "v"),
    ("ACL", "DRYRUN", "s1", "DEL", "a1"),
    ("ACL", "DRYRUN", "s2", "PUBLISH", "ch", "m"),
    ("ACL", "DRYRUN", "s2", "PUBLISH", "other", "m"),
    ("ACL", "SETUSER", "rw", "on", "nopass", "%R~r*", "%W~w*", "+@all"),
    ("ACL", "DRYRUN", "rw", "GET", "r1"),
    ("ACL", "DRYRUN", "rw", "GET", "w1"),
    ("ACL", "DRYRUN", "rw", "SET", "w1", "v"),
    ("ACL", "DRYRUN", "rw", "LPUSH", "w1", "v"),
    ("ACL", "DRYRUN", "rw", "LPUSH", "r1", "v"),
    ("ACL", "DRYRUN", "rw", "COPY", "r1", "w1"),
    ("ACL", "DRYRUN", "rw", "COPY", "w1", "r1"),
    ("ACL", "DRYRUN", "rw", "EXISTS", "w1"),
    ("ACL", "DRYRUN", "rw", "MSET", "w1", "v", "r1", "v"),
    ("ACL", "DRYRUN", "rw", "SORT", "r1", "STORE", "w1"),
    ("ACL", "DRYRUN", "rw", "EVAL", "return 1", "1", "x1"),
    ("ACL", "SETUSER", "s1", "clearselectors"),
    ("ACL", "GETUSER", "s1"),
    ("ACL", "SETUSER", "s2", "reset"),
    ("ACL", "GETUSER", "s2"),
    ("ACL", "LIST"),
    ("ACL", "SETUSER", "s1", "(~b* +set)"),
    ("AUTH", "s1", "x"),
    ("SET", "b1", "v"),
    ("GET", "b1"),
    ("GET", "a1"),
    ("SET", "a1", "v"),
    ("AUTH", "default", "x"),
    ("ACL", "DRYRUN", "rw", "MIGRATE", "h", "1", "", "0", "5000", "KEYS", "w1", "r1"),
    ("ACL", "DRYRUN", "rw", "MIGRATE", "h", "1", "", "0", "5000", "AUTH", "keys", "KEYS", "w1"),
    ("ACL", "SETUSER", "srt", "on", "nopass", "+sort", "~mylist", "(+sort ~mylist %W~*)"),
    ("AUTH", "srt", "x"),
    ("SORT", "mylist", "BY", "v*"),
    ("SORT", "mylist", "GET", "#"),
    ("SORT", "mylist", "BY", "nosort"),
    ("AUTH", "default", "x"),
    ("ACL", "SETUSER", "srt", "(+sort %R~*)"),
    ("AUTH", "srt", "x"),
    ("SORT", "mylist", "BY", "v*"),
    ("AUTH", "default", "x"),
    ("ACL", "HELP"),
    ("ACL", "LOAD"),
    ("ACL", "SAVE"),
    ("ACL", "LOAD", "x"),
    ("CLIENT", "KILL", "USER", "nosuch"),
    ("CLIENT", "KILL", "USER", "s2"),
    ("ACL", "SETUSER", "default", "off"),
]


def test_acl_selectors_match_redis(server_factory: ServerFactory) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        for args in SELECTOR_SCRIPT:
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"{args}: respcache {got!r}, redis {want!r}"
        with (
            RawConnection(ours.host, ours.port) as a2,
            RawConnection(theirs.host, theirs.port) as b2,
        ):  # the default user is off: a new connection is not authenticated
            assert a2.call("GET", "x") == b2.call("GET", "x")
        a.call("ACL", "SETUSER", "default", "on")
        b.call("ACL", "SETUSER", "default", "on")
        a.call("HELLO", "3")
        b.call("HELLO", "3")
        for args in (("ACL", "GETUSER", "s1"), ("ACL", "GETUSER", "default")):
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"RESP3 {args}: respcache {got!r}, redis {want!r}"


def test_exec_rechecks_permissions_like_redis(server_factory: ServerFactory) -> None:
    """A command queued before an ACL change fails at EXEC with Redis's NOPERM text."""
    results = []
    for server in (server_factory.respcache(), server_factory.redis()):
        with RawConnection(server.host, server.port) as admin:
            admin.call("ACL", "SETUSER", "e", "on", "nopass", "~k*", "&*", "+@all")
            with RawConnection(server.host, server.port) as user:
                assert user.call("AUTH", "e", "x").value == b"OK"
                queued = [
                    user.call(*cmd) for cmd in (("MULTI",), ("SET", "k1", "v"), ("GET", "k1"))
                ]
                queued += [user.call("PUBLISH", "c", "m"), user.call("PING")]
                admin.call("ACL", "SETUSER", "e", "-get", "resetkeys", "~z*", "resetchannels")
                results.append([queued, user.call("EXEC")])
            log = admin.call("ACL", "LOG").value
            results.append([_log_fields(admin), len(log)])
    assert results[:2] == results[2:]
    texts = [r.value for r in results[0][1].value]
    assert texts[0].startswith(b"NOPERM ACLs rules changed between the moment")
    assert texts[3] == b"PONG"


def test_subscribers_killed_when_channels_shrink(server_factory: ServerFactory) -> None:
    """ACL SETUSER that removes a subscribed channel disconnects the subscriber (both)."""
    results = []
    for server in (server_factory.respcache(), server_factory.redis()):
        with RawConnection(server.host, server.port) as admin:
            admin.call("ACL", "SETUSER", "p", "on", "nopass", "resetchannels", "&ch*", "+@all")
            with (
                RawConnection(server.host, server.port) as kept,
                RawConnection(server.host, server.port) as lost,
            ):
                kept.call("AUTH", "p", "x")
                lost.call("AUTH", "p", "x")
                kept.call("SUBSCRIBE", "chx")
                lost.call("SUBSCRIBE", "ch1")
                admin.call("ACL", "SETUSER", "p", "&chx")  # a superset: nobody is killed
                admin.call("ACL", "SETUSER", "p", "resetchannels", "&chx")
                lost.read_available(0.5)
                kept.send("PING")
                kept_reply = kept.read_reply()
                results.append((lost.closed, kept_reply.value))
            admin.call("ACL", "SETUSER", "d", "on", "nopass", "+@all")
            with RawConnection(server.host, server.port) as gone:
                gone.call("AUTH", "d", "x")
                admin.call("ACL", "DELUSER", "d")
                gone.read_available(0.5)
                results.append((gone.closed, None))
    assert results[:2] == results[2:]
    assert results[0][0] is True and results[1][0] is True


ACLFILE = "user alice on nopass ~a* +get\nuser default on nopass ~* &* +@all\n"
BAD_ACLFILE = (
    "user bob on +nosuch ~x\n"
    "# a comment\n"
    "user bob off\n"
    "user carl (~x +get\n"
    "user dave on allkeys ~x\n"
    "user erin\ton\n"
)


def test_acl_file_load_save_match_redis(server_factory: ServerFactory, tmp_path: Path) -> None:
    replies = []
    for kind in ("respcache", "redis"):
        path = tmp_path / f"{kind}.acl"
        path.write_text(ACLFILE)
        start = server_factory.respcache if kind == "respcache" else server_factory.redis
        server = start(aclfile=str(path))
        out: list[object] = []
        with RawConnection(server.host, server.port) as conn:
            out.append(conn.call("ACL", "LIST"))
            out.append(conn.call("ACL", "SETUSER", "bob", "on", ">pw", "(~s* +set)"))
            out.append(conn.call("ACL", "SAVE"))
            out.append(path.read_text())
            path.write_text(BAD_ACLFILE)
            err = conn.call("ACL", "LOAD")
            out.append(err.value.replace(str(path).encode(), b"FILE"))
            out.append(conn.call("ACL", "LIST"))  # unchanged: all or nothing
            path.write_text("user carl on nopass +@all ~*\n")
            with RawConnection(server.host, server.port) as bob:
                bob.call("AUTH", "bob", "pw")
                out.append(conn.call("ACL", "LOAD"))
                bob.read_available(0.5)
                out.append(bob.closed)
            out.append(conn.call("ACL", "LIST"))
            path.unlink()
            err = conn.call("ACL", "LOAD")
            out.append(err.value.replace(str(path).encode(), b"FILE"))
        replies.append(out)
    for i, (got, want) in enumerate(zip(*replies, strict=True)):
        assert got == want, f"step {i}: respcache {got!r}, redis {want!r}"


def test_user_lines_and_pubsub_default_match_redis(server_factory: ServerFactory) -> None:
    """``user`` lines at start, with ``acl-pubsub-default allchannels``: new selectors too."""
    options = {"acl_pubsub_default": "allchannels"}
    users = ["--user", "alice", "on", "nopass", "(~x +get)"]
    users += ["--user", "default", "on", "nopass", "~*", "+@all"]
    ours = server_factory.respcache(options, extra_args=users)
    theirs = server_factory.redis(options, extra_args=users)
    with RawConnection(ours.host, ours.port) as a, RawConnection(theirs.host, theirs.port) as b:
        for args in (
            ("ACL", "LIST"),
            ("ACL", "SETUSER", "bob", "(+get)"),
            ("ACL", "SETUSER", "carl", "reset", "(+set)"),
            ("ACL", "LIST"),
        ):
            got, want = a.call(*args), b.call(*args)
            assert got == want, f"{args}: respcache {got!r}, redis {want!r}"
