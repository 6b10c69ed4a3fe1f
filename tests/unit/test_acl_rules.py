"""The ACL rule model (respcache.security.acl) against Redis 7.0.15's ``ACL SETUSER``.

Error reasons are Redis's ``ACLSetUserStringError`` texts (checked with redis-server:
``ACL SETUSER u <rule>`` answers ``ERR Error in ACL SETUSER modifier '<rule>': <reason>``).
"""

from __future__ import annotations

import hashlib

import pytest

from respcache.commands import REGISTRY
from respcache.security.acl import AclRuleError, User, hash_password


def user(*rules: str) -> User:
    u = User("alice")
    for rule in rules:
        u.apply(rule, REGISTRY)
    return u


def test_passwords_are_sha256() -> None:
    u = user("on", ">secret", ">other", ">secret")
    assert u.passwords == [hash_password(b"secret"), hash_password(b"other")]
    assert hash_password(b"secret") == hashlib.sha256(b"secret").hexdigest()
    assert u.check_password(b"secret") and not u.check_password(b"nope")
    u.apply("<secret", REGISTRY)
    assert u.passwords == [hash_password(b"other")]
    u.apply("#" + hash_password(b"x"), REGISTRY)
    assert u.check_password(b"x")
    u.apply("!" + hash_password(b"x"), REGISTRY)
    assert not u.check_password(b"x")


def test_nopass_resetpass_and_off() -> None:
    u = user("on", ">pw", "nopass")
    assert u.passwords == [] and u.check_password(b"anything")
    u.apply(">pw", REGISTRY)  # a password clears nopass
    assert not u.nopass and not u.check_password(b"anything")
    u.apply("resetpass", REGISTRY)
    assert not u.check_password(b"pw")
    u.apply("nopass", REGISTRY)
    u.apply("off", REGISTRY)
    assert not u.check_password(b"")


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("<nosuch", "The password you are trying to remove from the user does not exist"),
        ("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"),
        ("#" + "A" * 64, "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"),
        ("+nosuchcommand", "Unknown command or category name in ACL"),
        ("-nosuchcommand", "Unknown command or category name in ACL"),
        ("+@nosuchcategory", "Unknown command or category name in ACL"),
        ("+config|nosuch", "Unknown command or category name in ACL"),
        ("+config|get|x", "Allowing first-arg of a subcommand is not supported"),
        ("+select|", "Syntax error"),
        ("%X~k", "Syntax error"),
        ("%RR~k", "Syntax error"),
        ("bogus", "Syntax error"),
    ],
)  # fmt: skip
def test_rule_errors(rule: str, reason: str) -> None:
    with pytest.raises(AclRuleError) as info:
        user(rule)
    assert str(info.value) == reason


def test_patterns_after_star_are_refused() -> None:
    with pytest.raises(AclRuleError, match="'allkeys' flag"):
        user("allkeys", "~foo")
    with pytest.raises(AclRuleError, match="'allchannels' flag"):
        user("&*", "&news")
    u = user("allkeys", "resetkeys", "~foo", "%R~bar", "%W~bar", "%RW~baz")
    assert u.root.key_patterns == [("foo", 3), ("bar", 3), ("baz", 3)]
    assert not u.root.all_keys
    u = user("%R~a*")
    assert u.root.key_patterns == [("a*", 1)]


def test_command_rules() -> None:
    get, set_ = REGISTRY["get"], REGISTRY["set"]
    config_get = REGISTRY["config"].subcommands["get"]
    u = user("+@read")
    assert u.root.can_run(get, None) and not u.root.can_run(set_, None)
    assert not u.root.future
    u = user("+@all", "-set")
    assert u.root.future and u.root.can_run(get, None) and not u.root.can_run(set_, None)
    u = user("+config|get")
    assert u.root.can_run(config_get, None)
    assert not u.root.can_run(REGISTRY["config"].subcommands["set"], None)
    u = user("+config", "-config|set")
    assert u.root.can_run(config_get, None)
    assert not u.root.can_run(REGISTRY["config"].subcommands["set"], None)
    u = user("+select|0")
    assert u.root.first_args == {"select": ["0"]}
    assert u.root.can_run(REGISTRY["select"], b"0") and not u.root.can_run(REGISTRY["select"], b"1")
    u.apply("+select", REGISTRY)  # allowing the command drops its first-arg rules
    assert u.root.first_args == {} and u.root.can_run(REGISTRY["select"], b"1")
    u = user("allcommands", "nocommands")
    assert not u.root.allowed and not u.root.future


def test_reset() -> None:
    u = user("on", ">pw", "~*", "&*", "+@all", "reset")
    assert not u.enabled and u.passwords == [] and not u.nopass
    assert not u.root.all_keys and not u.root.all_channels and not u.root.allowed


def test_user_lines_in_the_config_file() -> None:
    from respcache.commands.engine import load_acl
    from respcache.config import Config, ConfigFileError

    acl = load_acl(Config.load(None, ["--user", "bob", "on", ">pw", "~k*", "+get"]))
    bob = acl.authenticate(b"bob", b"pw")
    assert bob is not None and bob.root.key_patterns == [("k*", 3)]
    with pytest.raises(ConfigFileError) as info:
        load_acl(Config.load(None, ["--user", "bob", "on", "%X~k"]))
    # redis-server 7.0.15 names 'bob' here (its error index counts from the line's start)
    assert info.value.reason == "Error in user declaration 'bob': Syntax error"
