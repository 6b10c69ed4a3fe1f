"""A looping script against a real server: BUSY, SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE.

Each server runs with ``busy-reply-threshold 50`` (ms), so a script is "busy"
at once. The caller's connection is a :class:`RawConnection` (its reply is read
after the kill); the other client is redis-py. The same tests pass against a
real redis-server (``RCTEST_IMPL=redis``), whose texts they expect.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import redis
from support import RawConnection, encode_command, wait_until

pytestmark = [pytest.mark.integration]

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = (
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)


def busy(c: Any) -> bool:
    try:
        c.ping()
    except redis.ResponseError as err:
        return str(err).startswith("BUSY")
    return False


@pytest.fixture
def server(server_factory: Any) -> Any:
    return server_factory.respcache({"busy-reply-threshold": 50, "save": ""})


def test_script_kill_stops_a_looping_script(server: Any) -> None:
    body = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end"
    with RawConnection(server.host, server.port) as caller, server.client() as other:
        # Pipelined: the PING after the EVAL is answered once the script is killed.
        caller.send_raw(encode_command(["EVAL", body, "0"]) + encode_command(["PING"]))
        assert wait_until(lambda: busy(other), timeout=10)
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_EVAL)):
            other.get("k")
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_EVAL)):
            other.execute_command("FUNCTION", "KILL")
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_EVAL)):
            other.execute_command("SHUTDOWN")  # only SHUTDOWN NOSAVE while busy
        assert other.execute_command("SCRIPT", "KILL") in (b"OK", True)
        reply = caller.read_reply(timeout=10)
        assert reply.is_error and "Script killed by user with SCRIPT KILL..." in reply.text()
        assert caller.read_reply(timeout=10).text() == "PONG"
        assert other.ping()
        with pytest.raises(
            redis.ResponseError, match=r"^NOTBUSY No scripts in execution right now\."
        ):
            other.execute_command("SCRIPT", "KILL")
        assert caller.call("PING").text() == "PONG"  # the caller's link is still usable


def test_function_kill_stops_a_looping_function(server: Any) -> None:
    library = (
        "#!lua name=spinlib\nredis.register_function('spin', function() while true do end end)"
    )
    with RawConnection(server.host, server.port) as caller, server.client() as other:
        other.function_load(library)
        caller.send("FCALL", "spin", "0")
        assert wait_until(lambda: busy(other), timeout=10)
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_FUNCTION)):
            other.ping()
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_FUNCTION)):
            other.execute_command("SCRIPT", "KILL")
        stats = other.execute_command("FUNCTION", "STATS")
        assert "spin" in str(stats)
        assert other.execute_command("FUNCTION", "KILL") in (b"OK", True)
        reply = caller.read_reply(timeout=10)
        assert reply.is_error
        assert reply.text() == (
            "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        )
        assert other.ping()


def test_a_script_that_wrote_is_unkillable_but_shutdown_nosave_stops(server: Any) -> None:
    with RawConnection(server.host, server.port) as caller, server.client() as other:
        caller.send("EVAL", "redis.call('set', KEYS[1], 'y') while true do end", "1", "x")
        assert wait_until(lambda: busy(other), timeout=10)
        with pytest.raises(redis.ResponseError, match=r"^UNKILLABLE Sorry the script already"):
            other.execute_command("SCRIPT", "KILL")
        with pytest.raises(redis.ResponseError, match="^" + re.escape(BUSY_EVAL)):
            other.ping()
        with RawConnection(server.host, server.port) as stopper:
            stopper.send("SHUTDOWN", "NOSAVE")
            assert stopper.read_all(timeout=10) == b""  # no reply: the server stops
    assert server.wait(10) == 0


def test_follower_applies_nothing_while_a_busy_script_reads(server_factory: Any) -> None:
    """The leader's writes wait on the follower until its busy read-only script ends."""
    from test_replication import Cluster, wait_synced

    cluster = Cluster(server_factory)
    follower = cluster.follower(busy_reply_threshold=50)
    wait_synced(cluster.leader, follower)
    body = (
        "local v = redis.call('get', KEYS[1]) "
        "for i = 1, tonumber(ARGV[1]) do "
        "  if redis.call('get', KEYS[1]) ~= v then return 'changed at ' .. i end "
        "end return 'same: ' .. v"
    )
    with cluster.leader.client() as leader, follower.client() as other:
        leader.set("k", "before")
        wait_synced(cluster.leader, follower)
        with RawConnection(follower.host, follower.port) as caller:
            caller.send("EVAL_RO", body, "1", "k", "60000")
            assert wait_until(lambda: busy(other), timeout=10)
            outcome: list[object] = []

            def write() -> None:
                # Acknowledged once the follower applied it, or NOTCOMMITTED when the
                # busy follower missed repl-ack-timeout (applied on the leader all the same).
                try:
                    outcome.append(leader.set("k", "after"))
                except redis.ResponseError as err:
                    outcome.append(str(err).split()[0])

            writer = threading.Thread(target=write)
            writer.start()
            reply = caller.read_reply(timeout=60)
            writer.join(30)
        assert reply.text() == "same: before"
        assert outcome in ([True], ["NOTCOMMITTED"])
        assert wait_until(lambda: other.get("k") == b"after", timeout=10)
