"""Selectors, ACL files and the permission check of respcache.security.acl (no sockets).

Texts and orders are Redis 7.0.15's (``ACLMergeSelectorArguments``, ``ACLDescribeUser``,
``ACLLoadFromFile``, ``ACLCheckAllUserCommandPerm``); the differential tests compare the
same cases with a running redis-server.
"""

from __future__ import annotations

import pytest

from respcache.commands import REGISTRY
from respcache.commands.engine import Engine
from respcache.commands.introspection import acl_key_access
from respcache.config import Config
from respcache.protocol.types import OK
from respcache.security.acl import (
    READ,
    WRITE,
    AccessControl,
    AclFileError,
    AclRuleError,
    UnmatchedSelector,
    User,
    describe_user,
    merge_selector_args,
    parse_acl_file,
    pubsub_may_lose,
    state_commands,
)


def user(*rules: str) -> User:
    u = User("alice")
    for rule in merge_selector_args(list(rules)):
        u.apply(rule, REGISTRY)
    return u


def test_merge_joins_a_selector_spread_over_words() -> None:
    assert merge_selector_args(["on", "(", "+get", "~x)", "(+set)"]) == [
        "on",
        "( +get ~x)",
        "(+set)",
    ]
    assert merge_selector_args(["(+get ~a)"]) == ["(+get ~a)"]
    with pytest.raises(UnmatchedSelector) as exc:
        merge_selector_args(["on", "(+get", "~x"])
    assert exc.value.index == 1


def test_selectors_are_described_after_the_root() -> None:
    u = user("on", "nopass", "~a*", "+get", "(~b* +set)", "(%W~w* &ch +lpush)")
    assert describe_user(u, REGISTRY) == (
        "on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set) "
        "(%W~w* resetchannels &ch -@all +lpush)"
    )
    u.apply("clearselectors", REGISTRY)
    assert u.selectors == []
    assert describe_user(u, REGISTRY) == "on nopass ~a* resetchannels -@all +get"


def test_reset_clears_selectors_and_sets_sanitize_payload() -> None:
    u = user("on", "(+get)")
    u.apply("reset", REGISTRY)
    assert describe_user(u, REGISTRY) == "off sanitize-payload resetchannels -@all"
    u.apply("reset", REGISTRY, allchannels=True)
    assert describe_user(u, REGISTRY) == "off sanitize-payload &* -@all"


def test_a_bad_rule_inside_a_selector_is_refused() -> None:
    with pytest.raises(AclRuleError) as exc:
        user("(+nosuch)")
    assert exc.value.code == "ENOENT"
    with pytest.raises(AclRuleError) as exc:
        user("(nopass)")  # a user flag is no selector rule
    assert exc.value.code == "EINVAL"


def _acl() -> AccessControl:
    return AccessControl(REGISTRY, key_access=acl_key_access)  # type: ignore[arg-type]


def test_any_selector_may_allow_and_the_most_relevant_denial_wins() -> None:
    acl = _acl()
    u = user("on", "nopass", "~a*", "+get", "(~b* +set)")
    get, set_ = REGISTRY["get"], REGISTRY["set"]
    assert acl.check(u, get, [b"GET", b"a1"]) is None
    assert acl.check(u, set_, [b"SET", b"b1", b"v"]) is None
    denied = acl.check(u, get, [b"GET", b"b1"])  # root: the key; selector: the command
    assert denied is not None and (denied.reason, denied.object) == ("key", "b1")
    denied = acl.check(u, REGISTRY["del"], [b"DEL", b"a1"])
    assert denied is not None and denied.reason == "command" and "'del'" in denied.message


def test_key_permissions_follow_key_specs() -> None:
    assert acl_key_access(REGISTRY["set"], [b"SET", b"k", b"v"]) == [(1, WRITE)]
    assert acl_key_access(REGISTRY["set"], [b"SET", b"k", b"v", b"GET"]) == [(1, READ | WRITE)]
    assert acl_key_access(REGISTRY["lpush"], [b"LPUSH", b"k", b"v"]) == [(1, WRITE)]
    assert acl_key_access(REGISTRY["get"], [b"GET", b"k"]) == [(1, READ)]
    assert acl_key_access(REGISTRY["exists"], [b"EXISTS", b"k"]) == [(1, 0)]
    copy = acl_key_access(REGISTRY["copy"], [b"COPY", b"a", b"b"])
    assert copy == [(1, READ), (2, WRITE)]
    acl = _acl()
    u = user("on", "nopass", "%R~r*", "%W~w*", "+@all")
    assert acl.check(u, REGISTRY["set"], [b"SET", b"w1", b"v"]) is None
    assert acl.check(u, REGISTRY["get"], [b"GET", b"w1"]) is not None
    assert acl.check(u, REGISTRY["copy"], [b"COPY", b"r1", b"w1"]) is None
    assert acl.check(u, REGISTRY["copy"], [b"COPY", b"w1", b"r1"]) is not None


def test_pubsub_kill_only_when_a_channel_is_lost() -> None:
    old = user("&a", "&b")
    assert pubsub_may_lose(user("&a", "&b", "&c"), old) is None
    assert pubsub_may_lose(user("allchannels"), old) is None
    assert pubsub_may_lose(user("&a"), old) == ["a"]
    assert pubsub_may_lose(user("&a", "(&b)"), old) is None  # a selector keeps it
    assert pubsub_may_lose(user("&a"), user("allchannels")) == ["a"]


def test_acl_file_parses_all_or_nothing() -> None:
    users = parse_acl_file("user a on nopass ~* +@all\n\n  user b (~x +get)  \n", "f", REGISTRY)
    assert sorted(users) == ["a", "b"]
    assert (
        describe_user(users["b"], REGISTRY)
        == "off resetchannels -@all (~x resetchannels -@all +get)"
    )
    bad = "user a +nosuch ~x\n# c\nuser a\nuser c (~x +get\nuser d allkeys ~x ~y\n"
    with pytest.raises(AclFileError) as exc:
        parse_acl_file(bad, "f.acl", REGISTRY)
    assert str(exc.value) == (
        "f.acl:1: Error in applying operation '+nosuch': Unknown command or category name in "
        "ACL. f.acl:2 should start with user keyword followed by the username. WARNING: "
        "Duplicate user 'a' found on line 3. f.acl:4: Unmatched parenthesis in selector "
        "definition.f.acl:5: Adding a pattern after the * pattern (or the 'allkeys' flag) is "
        "not valid and does not have any effect. Try 'resetkeys' to start with an empty list "
        "of patterns. WARNING: ACL errors detected, no change to the previously active ACL "
        "rules was performed"
    )


def test_replace_users_keeps_the_default_object() -> None:
    acl = _acl()
    default = acl.default
    old = User("old")
    acl.users["old"] = old
    gone = acl.replace_users(parse_acl_file("user default on >pw ~* +@all\n", "f", REGISTRY))
    assert gone == [old] and acl.users["default"] is default
    assert not default.nopass and default.check_password(b"pw")
    acl.replace_users({})  # a file without default: Redis's default user again
    assert default.nopass and sorted(acl.users) == ["default"]


def test_state_commands_rebuild_the_same_users() -> None:
    leader = _acl()
    u = leader.users["s"] = User("s")
    for rule in ("on", ">pw", "%R~r*", "&c", "+get", "(~b* +set)"):
        u.apply(rule, REGISTRY)
    follower = Engine(Config())
    follower.acl.users["gone"] = User("gone")  # (only the leader's users are rebuilt)
    client = follower.new_client()
    for argv in state_commands(leader):
        assert follower.execute(client, argv) == OK
    assert describe_user(follower.acl.users["s"], REGISTRY) == describe_user(u, REGISTRY)
    assert follower.acl.users["s"].check_password(b"pw")


def test_aclfile_and_user_lines_together_are_refused() -> None:
    from respcache.commands.engine import load_acl
    from respcache.config import ConfigFileError

    config = Config.load(None, ["--aclfile", "/nonexistent.acl"], {})
    config.user_lines = [(["user", "a", "on"], 1, "user a on")]
    with pytest.raises(ConfigFileError) as exc:
        load_acl(config)
    assert "Configuring Redis with users defined in redis.conf" in str(exc.value)
    config.user_lines = []
    with pytest.raises(ConfigFileError) as exc:
        load_acl(config)
    assert str(exc.value).endswith(
        "Aborting Redis startup because of ACL errors: Error loading ACLs, opening file "
        "'/nonexistent.acl': No such file or directory"
    )


def test_subcommands_redis_lacks_fold_into_their_parent() -> None:
    """respcache's DEBUG has subcommand specs, Redis 7.0's DEBUG has none: for ACL,
    ``+debug|digest`` is a first-argument rule and the check names ``debug``."""
    engine = Engine(Config())
    acl = engine.acl
    u = User("d")
    for rule in ("on", "nopass", "allkeys", "+@all", "-debug", "+debug|digest"):
        u.apply(rule, acl.table)
    assert describe_user(u, acl.table) == "on nopass ~* resetchannels +@all -debug +debug|digest"
    digest = REGISTRY["debug"].subcommands["digest"]
    reload = REGISTRY["debug"].subcommands["reload"]
    assert acl.check(u, digest, [b"DEBUG", b"DIGEST"]) is None
    denied = acl.check(u, reload, [b"DEBUG", b"RELOAD"])
    assert denied is not None and denied.object == "debug"
    with pytest.raises(AclRuleError):
        u.apply("+debug|digest|x", acl.table)


def test_sort_patterns_need_unrestricted_key_access() -> None:
    acl = _acl()
    sort = REGISTRY["sort"]
    argv = [b"SORT", b"mylist", b"BY", b"v*"]
    assert not acl.unrestricted_key_access(user("on", "+sort", "~mylist", "~v*"), sort, argv)
    assert not acl.unrestricted_key_access(user("on", "+sort", "~mylist", "%W~*"), sort, argv)
    assert acl.unrestricted_key_access(user("on", "+sort", "~mylist", "(+sort %R~*)"), sort, argv)
