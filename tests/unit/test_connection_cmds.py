"""Connection commands through the engine: PING, ECHO, SELECT, QUIT, AUTH, HELLO, RESET, CLIENT.

Expected strings are Redis 7.0.15's replies (CLIENT SETINFO / NO-TOUCH: Redis 7.2's).
"""

from __future__ import annotations

import pytest
from conftest import Run

from respcache.commands import Blocked, Client, Engine
from respcache.commands.admission import Hold
from respcache.commands.pause import OFF, PAUSE_ALL, PAUSE_WRITE
from respcache.config import Config
from respcache.errors import CommandError
from respcache.protocol.encoder import encode
from respcache.protocol.types import NULL_ARRAY, OK, PONG, Verbatim

WRONGPASS = CommandError("WRONGPASS invalid username-password pair or user is disabled.")
NAME_ERROR = CommandError("ERR Client names cannot contain spaces, newlines or special characters.")
SYNTAX = CommandError("ERR syntax error")

CLIENT_LIST_FIELDS = [
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
]


def err(text: str) -> CommandError:
    return CommandError(text)


def fields(line: bytes | str) -> dict[str, str]:
    text = line.decode() if isinstance(line, bytes) else line
    return dict(part.split("=", 1) for part in text.strip("\n").split(" "))


@pytest.fixture
def secured() -> Engine:
    return Engine(Config(requirepass="secret"))


# --- PING / ECHO / SELECT / QUIT ----------------------------------------------------------


def test_ping_and_echo(client: Client, run: Run) -> None:
    assert run(client, "PING") is PONG
    assert run(client, "PING", "hi") == b"hi"
    assert run(client, "PING", "a", "b") == err("ERR wrong number of arguments for 'ping' command")
    assert run(client, "ECHO", "x") == b"x"
    assert run(client, "ECHO") == err("ERR wrong number of arguments for 'echo' command")


def test_ping_in_resp2_subscribed_context(client: Client, run: Run) -> None:
    client.subscriptions.add(b"ch")
    assert run(client, "PING") == [b"pong", b""]
    assert run(client, "PING", "x") == [b"pong", b"x"]


def test_select(client: Client, run: Run) -> None:
    assert run(client, "SELECT", "1") is OK
    assert client.db.id == 1
    assert run(client, "SELECT", "16") == err("ERR DB index is out of range")
    assert run(client, "SELECT", "-1") == err("ERR DB index is out of range")
    assert run(client, "SELECT", "x") == err("ERR value is not an integer or out of range")
    assert run(client, "SELECT", "2147483647") == err("ERR DB index is out of range")
    assert run(client, "SELECT", "2147483648") == err(
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    )
    assert client.db.id == 1


def test_quit_closes_after_the_reply(client: Client, run: Run) -> None:
    assert run(client, "QUIT", "anything") is OK
    assert client.close_after_reply


# --- AUTH ------------------------------------------------------------------------------------


def test_auth_without_requirepass(client: Client, run: Run) -> None:
    assert run(client, "AUTH", "foo") == err(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?"
    )
    # The default user is "nopass": any password is accepted, other users do not exist.
    assert run(client, "AUTH", "default", "foo") is OK
    assert run(client, "AUTH", "nouser", "x") == WRONGPASS
    assert run(client, "AUTH", "a", "b", "c") == SYNTAX


def test_auth_with_requirepass(secured: Engine, run: Run) -> None:
    c = secured.new_client()
    assert run(c, "PING") == err("NOAUTH Authentication required.")
    assert run(c, "AUTH", "wrong") == WRONGPASS
    assert run(c, "AUTH", "default", "wrong") == WRONGPASS
    assert not c.authenticated
    assert run(c, "AUTH", "secret") is OK
    assert run(c, "PING") is PONG
    c2 = secured.new_client()
    assert run(c2, "AUTH", "default", "secret") is OK
    assert c2.authenticated


# --- HELLO -----------------------------------------------------------------------------------


def test_hello_reply_map(client: Client, run: Run) -> None:
    reply = run(client, "HELLO", "3")
    assert reply == {
        b"server": b"redis",
        b"version": b"7.0.15",
        b"proto": 3,
        b"id": client.id,
        b"mode": b"standalone",
        b"role": b"master",
        b"modules": [],
    }
    assert client.resp == 3
    assert (
        encode(reply, True)
        == (  # type: ignore[arg-type]
            b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
            b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:" + str(client.id).encode() + b"\r\n"
            b"$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        )
    )
    # Without a version HELLO reports the current protocol; HELLO 2 switches back.
    assert run(client, "HELLO")[b"proto"] == 3  # type: ignore[index]
    assert run(client, "HELLO", "2")[b"proto"] == 2  # type: ignore[index]
    assert client.resp == 2


def test_hello_errors(client: Client, run: Run) -> None:
    assert run(client, "HELLO", "4") == err("NOPROTO unsupported protocol version")
    assert run(client, "HELLO", "1") == err("NOPROTO unsupported protocol version")
    assert run(client, "HELLO", "x") == err(
        "ERR Protocol version is not an integer or out of range"
    )
    assert run(client, "HELLO", "auth", "default", "x") == err(
        "ERR Protocol version is not an integer or out of range"
    )
    assert run(client, "HELLO", "2", "foo") == err("ERR Syntax error in HELLO option 'foo'")
    assert run(client, "HELLO", "2", "auth") == err("ERR Syntax error in HELLO option 'auth'")
    assert run(client, "HELLO", "2", "auth", "default") == err(
        "ERR Syntax error in HELLO option 'auth'"
    )
    assert run(client, "HELLO", "2", "setname") == err("ERR Syntax error in HELLO option 'setname'")
    assert run(client, "HELLO", "3", "setname", "a b") == NAME_ERROR
    assert client.resp == 2


def test_hello_auth_and_setname(secured: Engine, run: Run) -> None:
    c = secured.new_client()
    assert run(c, "HELLO", "3") == err(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
        "the RESP protocol version at the same time"
    )
    assert run(c, "HELLO", "2", "auth", "default", "wrong") == WRONGPASS
    # As Redis 7.0: AUTH is done when reached, so a later bad option still leaves it done.
    assert run(c, "HELLO", "3", "auth", "default", "secret", "setname", "a b") == NAME_ERROR
    assert c.authenticated
    assert c.resp == 2
    reply = run(c, "HELLO", "3", "AUTH", "default", "secret", "SETNAME", "app")
    assert isinstance(reply, dict) and reply[b"proto"] == 3
    assert run(c, "CLIENT", "GETNAME") == b"app"


# --- RESET -----------------------------------------------------------------------------------


def test_reset_restores_a_new_connections_state(engine: Engine, client: Client, run: Run) -> None:
    run(client, "HELLO", "3", "SETNAME", "app")
    run(client, "CLIENT", "SETINFO", "LIB-NAME", "redis-py")
    run(client, "SELECT", "3")
    run(client, "CLIENT", "NO-EVICT", "on")
    run(client, "CLIENT", "NO-TOUCH", "on")
    engine.watches.watch(client, b"k")
    client.multi = []
    forgotten: list[Client] = []
    engine.disconnect_hooks.append(forgotten.append)
    client.subscriptions.add(b"ch")
    assert run(client, "RESET") == "RESET"
    assert encode("RESET") == b"+RESET\r\n"
    assert client.db.id == 0
    assert client.resp == 2
    assert client.name == b""
    assert client.multi is None
    assert not client.watched and (0, b"k") not in engine.watches.watched
    assert not client.subscriptions and forgotten == [client]
    assert not client.no_evict and not client.no_touch
    assert client.lib_name == "redis-py"  # not cleared, as in Redis
    assert client.authenticated


def test_reset_logs_out_when_a_password_is_required(secured: Engine, run: Run) -> None:
    c = secured.new_client()
    assert run(c, "AUTH", "secret") is OK
    assert run(c, "RESET") == "RESET"
    assert run(c, "PING") == err("NOAUTH Authentication required.")


# --- CLIENT ID / SETNAME / GETNAME / SETINFO ------------------------------------------------


def test_client_id_and_names(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "ID") == client.id
    assert run(client, "CLIENT", "ID", "x") == err(
        "ERR wrong number of arguments for 'client|id' command"
    )
    assert run(client, "CLIENT", "GETNAME") is None
    assert run(client, "CLIENT", "SETNAME", "conn-1") is OK
    assert run(client, "CLIENT", "GETNAME") == b"conn-1"
    assert run(client, "CLIENT", "SETNAME", "a b") == NAME_ERROR
    assert run(client, "CLIENT", "SETNAME", "a\nb") == NAME_ERROR
    assert run(client, "CLIENT", "SETNAME", "") is OK
    assert run(client, "CLIENT", "GETNAME") is None
    assert run(client, "CLIENT", "SETNAME") == err(
        "ERR wrong number of arguments for 'client|setname' command"
    )


def test_client_container_errors(client: Client, run: Run) -> None:
    assert run(client, "CLIENT") == err("ERR wrong number of arguments for 'client' command")
    assert run(client, "CLIENT", "foo") == err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")


def test_client_setinfo(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "SETINFO", "LIB-NAME", "redis-py") is OK
    assert run(client, "CLIENT", "SETINFO", "lib-ver", "8.0.0") is OK
    assert (client.lib_name, client.lib_ver) == ("redis-py", "8.0.0")
    assert run(client, "CLIENT", "SETINFO", "bad", "x") == err("ERR Unrecognized option 'bad'")
    assert run(client, "CLIENT", "SETINFO", "LIB-NAME", "a b") == err(
        "ERR LIB-NAME cannot contain spaces, newlines or special characters."
    )
    assert run(client, "CLIENT", "SETINFO", "LIB-NAME") == err(
        "ERR wrong number of arguments for 'client|setinfo' command"
    )
    line = fields(run(client, "CLIENT", "INFO"))  # type: ignore[arg-type]
    assert (line["lib-name"], line["lib-ver"]) == ("redis-py", "8.0.0")


# --- CLIENT LIST / INFO -----------------------------------------------------------------------


def test_client_info_fields_in_redis_order(client: Client, run: Run) -> None:
    run(client, "CLIENT", "SETNAME", "me")
    run(client, "SELECT", "2")
    reply = run(client, "CLIENT", "INFO")
    assert isinstance(reply, bytes) and reply.endswith(b"\n") and reply.count(b"\n") == 1
    line = reply.decode().rstrip("\n")
    assert [part.split("=", 1)[0] for part in line.split(" ")] == CLIENT_LIST_FIELDS
    f = fields(line)
    assert f["id"] == str(client.id)
    assert f["name"] == "me"
    assert f["db"] == "2"
    assert f["flags"] == "N"
    assert f["multi"] == "-1"
    assert f["cmd"] == "client|info"
    assert f["argv-mem"] == str(len("CLIENT") + len("INFO"))
    assert f["user"] == "default"
    assert f["resp"] == "2"
    assert f["events"] == "r"


def test_client_list_is_verbatim_in_resp3(client: Client, run: Run) -> None:
    run(client, "HELLO", "3")
    reply = run(client, "CLIENT", "LIST")
    assert isinstance(reply, Verbatim) and reply.format == "txt"
    assert fields(reply.text)["resp"] == "3"
    assert isinstance(run(client, "CLIENT", "INFO"), Verbatim)


def test_client_flags(engine: Engine, client: Client, run: Run) -> None:
    other = engine.new_client()
    other.multi = []
    other.no_evict = True
    other.subscriptions.add(b"ch")
    other.dirty_cas = True
    f = fields(run(client, "CLIENT", "LIST", "ID", str(other.id)))  # type: ignore[arg-type]
    assert f["flags"] == "Pxde"
    assert f["multi"] == "0"
    assert f["sub"] == "1"
    other.no_touch = True
    other.blocked = Blocked([b"k"], 0)
    f = fields(run(client, "CLIENT", "LIST", "ID", str(other.id)))  # type: ignore[arg-type]
    assert f["flags"] == "PxbdeT"


def test_client_list_filters(engine: Engine, client: Client, run: Run) -> None:
    other = engine.new_client()
    listed = run(client, "CLIENT", "LIST")
    assert isinstance(listed, bytes)
    assert [fields(line)["id"] for line in listed.decode().splitlines()] == [
        str(client.id),
        str(other.id),
    ]
    other.subscriptions.add(b"ch")
    by_type = run(client, "CLIENT", "LIST", "TYPE", "pubsub")
    assert [fields(line)["id"] for line in by_type.decode().splitlines()] == [str(other.id)]  # type: ignore[union-attr]
    normal = run(client, "CLIENT", "LIST", "type", "NORMAL")
    assert [fields(line)["id"] for line in normal.decode().splitlines()] == [str(client.id)]  # type: ignore[union-attr]
    assert run(client, "CLIENT", "LIST", "TYPE", "master") == b""
    # IDs: in the order given, unknown ones skipped.
    by_id = run(client, "CLIENT", "LIST", "ID", str(other.id), "999", str(client.id))
    assert [fields(line)["id"] for line in by_id.decode().splitlines()] == [  # type: ignore[union-attr]
        str(other.id),
        str(client.id),
    ]
    assert run(client, "CLIENT", "LIST", "TYPE", "foo") == err("ERR Unknown client type 'foo'")
    assert run(client, "CLIENT", "LIST", "ID", "x") == err("ERR Invalid client ID")
    assert run(client, "CLIENT", "LIST", "ID") == SYNTAX
    assert run(client, "CLIENT", "LIST", "foo") == SYNTAX
    assert run(client, "CLIENT", "LIST", "TYPE", "normal", "x") == SYNTAX


def test_client_list_uses_connection_info(engine: Engine, client: Client, run: Run) -> None:
    class NetClient(Client):
        __slots__ = ()

        def connection_info(self) -> dict[str, str]:
            return {
                "addr": "127.0.0.1:5000",
                "laddr": "127.0.0.1:6379",
                "fd": "9",
                "qbuf": "26",
                "obl": "5",
                "omem": "5",
            }

    net = NetClient(engine)
    engine.add_client(net)
    f = fields(run(client, "CLIENT", "LIST", "ID", str(net.id)))  # type: ignore[arg-type]
    assert (f["addr"], f["laddr"], f["fd"], f["qbuf"], f["obl"], f["omem"]) == (
        "127.0.0.1:5000",
        "127.0.0.1:6379",
        "9",
        "26",
        "5",
        "5",
    )
    assert f["events"] == "rw"
    assert f["cmd"] == "NULL"  # no command yet, as Redis shows it


# --- CLIENT KILL ---------------------------------------------------------------------------


class Addressed(Client):
    __slots__ = ("addr", "killed")

    def __init__(self, engine: Engine, addr: str) -> None:
        super().__init__(engine)
        self.addr = addr
        self.killed = False

    def connection_info(self) -> dict[str, str]:
        return {"addr": self.addr, "laddr": "127.0.0.1:6379", "fd": "8"}

    def kill(self) -> None:
        self.killed = True


def test_client_kill(engine: Engine, run: Run) -> None:
    me = Addressed(engine, "127.0.0.1:1000")
    a = Addressed(engine, "127.0.0.1:1001")
    b = Addressed(engine, "127.0.0.1:1002")
    for cl in (me, a, b):
        engine.add_client(cl)
    # Old form.
    assert run(me, "CLIENT", "KILL", "127.0.0.1:1001") is OK
    assert a.killed and not b.killed
    assert run(me, "CLIENT", "KILL", "1.2.3.4:5") == err("ERR No such client")
    # New form: filters combine; SKIPME yes by default.
    assert run(me, "CLIENT", "KILL", "ID", str(b.id)) == 1
    assert b.killed
    b.killed = a.killed = False
    assert run(me, "CLIENT", "KILL", "LADDR", "127.0.0.1:6379") == 2
    assert not me.close_after_reply
    assert run(me, "CLIENT", "KILL", "ADDR", "127.0.0.1:1000") == 0
    assert run(me, "CLIENT", "KILL", "ADDR", "127.0.0.1:1000", "SKIPME", "no") == 1
    assert me.close_after_reply and not me.killed  # the caller gets its reply first
    assert run(me, "CLIENT", "KILL", "TYPE", "pubsub") == 0
    assert run(me, "CLIENT", "KILL", "USER", "default", "ID", str(a.id)) == 1


def test_client_kill_errors(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "KILL", "ID", "99") == 0
    assert run(client, "CLIENT", "KILL", "ID", "x") == err("ERR client-id should be greater than 0")
    assert run(client, "CLIENT", "KILL", "ID", "0") == err("ERR client-id should be greater than 0")
    assert run(client, "CLIENT", "KILL", "foo", "bar") == SYNTAX
    assert run(client, "CLIENT", "KILL", "ID", "1", "x") == SYNTAX
    assert run(client, "CLIENT", "KILL", "TYPE", "foo") == err("ERR Unknown client type 'foo'")
    assert run(client, "CLIENT", "KILL", "SKIPME", "maybe") == SYNTAX
    assert run(client, "CLIENT", "KILL", "USER", "nobody") == err("ERR No such user 'nobody'")
    assert run(client, "CLIENT", "KILL", "ID") == err("ERR No such client")


# --- CLIENT NO-EVICT / NO-TOUCH / REPLY --------------------------------------------------------


def test_client_no_evict_and_no_touch(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "NO-EVICT", "on") is OK
    assert client.no_evict
    assert run(client, "CLIENT", "NO-EVICT", "OFF") is OK
    assert not client.no_evict
    assert run(client, "CLIENT", "NO-EVICT", "maybe") == SYNTAX
    assert run(client, "CLIENT", "NO-EVICT") == err(
        "ERR wrong number of arguments for 'client|no-evict' command"
    )
    assert run(client, "CLIENT", "NO-TOUCH", "on") is OK
    assert client.no_touch
    assert run(client, "CLIENT", "NO-TOUCH", "maybe") == SYNTAX


def test_client_no_touch_keeps_lru_order(engine: Engine, client: Client, run: Run) -> None:
    run(client, "SET", "a", "1")
    run(client, "SET", "b", "2")
    run(client, "CLIENT", "NO-TOUCH", "on")
    run(client, "GET", "a")
    assert list(client.db.data) == [b"a", b"b"]
    run(client, "CLIENT", "NO-TOUCH", "off")
    run(client, "GET", "a")
    assert list(client.db.data) == [b"b", b"a"]


def test_client_reply(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "REPLY", "OFF") is None
    assert client.reply_mode == "off"
    assert run(client, "CLIENT", "REPLY", "SKIP") is None
    assert client.reply_mode == "off"  # SKIP does nothing while OFF, as in Redis
    assert run(client, "CLIENT", "REPLY", "ON") is OK
    assert client.reply_mode == "on"
    assert run(client, "CLIENT", "REPLY", "SKIP") is None
    assert client.reply_mode == "skip_next"  # the server skips the reply after this one
    client.reply_mode = "on"
    assert run(client, "CLIENT", "REPLY", "foo") == SYNTAX
    assert run(client, "CLIENT", "REPLY") == err(
        "ERR wrong number of arguments for 'client|reply' command"
    )


# --- CLIENT UNBLOCK / PAUSE ----------------------------------------------------------------


def test_client_unblock(engine: Engine, client: Client, run: Run) -> None:
    waiter = engine.new_client()
    engine.blocked_clients.park(waiter, Blocked([b"k"], 0))
    assert run(client, "CLIENT", "UNBLOCK", str(waiter.id)) == 1
    assert waiter.blocked is None and waiter.pushed == [NULL_ARRAY]
    assert (0, b"k") not in engine.blocked_clients.waiting
    assert run(client, "CLIENT", "UNBLOCK", str(waiter.id)) == 0  # no longer blocked
    engine.blocked_clients.park(waiter, Blocked([b"k"], 0))
    assert run(client, "CLIENT", "UNBLOCK", str(waiter.id), "error") == 1
    assert waiter.pushed[-1] == err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert run(client, "CLIENT", "UNBLOCK", "99") == 0


def test_client_unblock_errors(client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "UNBLOCK", "x") == err(
        "ERR value is not an integer or out of range"
    )
    assert run(client, "CLIENT", "UNBLOCK", "4", "foo") == err(
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    )
    assert run(client, "CLIENT", "UNBLOCK", "1", "timeout", "x") == err(
        "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP."
    )
    assert run(client, "CLIENT", "UNBLOCK") == err(
        "ERR wrong number of arguments for 'client|unblock' command"
    )


def test_client_pause_and_unpause(engine: Engine, client: Client, run: Run) -> None:
    assert run(client, "CLIENT", "PAUSE", "100", "WRITE") is OK
    assert engine.pause.type == PAUSE_WRITE
    assert run(client, "CLIENT", "UNPAUSE") is OK
    assert engine.pause.type == OFF
    assert run(client, "CLIENT", "PAUSE", "100") is OK
    assert engine.pause.type == PAUSE_ALL
    # Under PAUSE ALL even CLIENT UNPAUSE waits (as redis-server 7.0.15 does).
    assert isinstance(run(client, "CLIENT", "UNPAUSE"), Hold)
    engine.pause.unpause("client_pause")
    assert engine.pause.type == OFF
    assert run(client, "CLIENT", "PAUSE", "x") == err(
        "ERR timeout is not an integer or out of range"
    )
    assert run(client, "CLIENT", "PAUSE", "-1") == err("ERR timeout is negative")
    assert run(client, "CLIENT", "PAUSE", "10", "foo") == err(
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    )
    assert run(client, "CLIENT", "PAUSE", "10", "write", "x") == err(
        "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
    )
    assert run(client, "CLIENT", "UNPAUSE", "x") == err(
        "ERR wrong number of arguments for 'client|unpause' command"
    )


def test_client_help(client: Client, run: Run) -> None:
    reply = run(client, "CLIENT", "HELP")
    assert isinstance(reply, list)
    assert reply[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert reply[-2:] == ["HELP", "    Prints this help."]
    assert "SETINFO <option> <value>" in reply and "NO-TOUCH (ON|OFF)" in reply
    assert encode(reply).startswith(b"*54\r\n+CLIENT <subcommand>")
