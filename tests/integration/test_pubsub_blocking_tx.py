"""redis-py against a real respcache process: pub/sub (RESP2 and RESP3), keyspace
notifications, transactions (pipelines, WATCH) and blocking list pops from several
clients in threads. ``RCTEST_IMPL=redis`` runs the same tests against redis-server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from support import ServerProcess, wait_until

pytestmark = pytest.mark.integration


def blocked_clients(server: ServerProcess) -> int:
    with server.client() as admin:
        return sum(1 for entry in admin.client_list() if "b" in entry["flags"])


def wait_blocked(server: ServerProcess, count: int) -> None:
    assert wait_until(lambda: blocked_clients(server) == count), "clients did not block"


def next_message(pubsub: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The next message of any type (subscribe confirmations included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.5)
        if msg is not None:
            return dict(msg)
    raise AssertionError("no message within the timeout")


class Background:
    """Run a blocking call in a thread and collect its result (or exception)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as err:
            self.error = err

    def join(self, timeout: float = 15.0) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the blocking call never returned"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def clients(respcache_server: ServerProcess) -> Iterator[Callable[..., Any]]:
    """A factory of extra redis-py clients, all closed after the test."""
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        conn = respcache_server.client(**kwargs)
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()


# --- pub/sub ------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 3])
def test_subscribe_publish_get_message(
    clients: Callable[..., Any], key: bytes, protocol: int
) -> None:
    sub = clients(protocol=protocol)
    pub = clients()
    channel = key + b":news"
    ps = sub.pubsub()
    ps.subscribe(channel)
    assert next_message(ps) == {"type": "subscribe", "pattern": None, "channel": channel, "data": 1}
    ps.psubscribe(key + b":n*")
    assert next_message(ps)["type"] == "psubscribe"
    assert pub.publish(channel, b"hello") == 2
    assert next_message(ps) == {
        "type": "message",
        "pattern": None,
        "channel": channel,
        "data": b"hello",
    }
    assert next_message(ps) == {
        "type": "pmessage",
        "pattern": key + b":n*",
        "channel": channel,
        "data": b"hello",
    }
    assert pub.pubsub_numsub(channel) == [(channel, 1)]
    assert channel in pub.pubsub_channels(key + b":*")
    ps.unsubscribe(channel)
    assert next_message(ps) == {
        "type": "unsubscribe",
        "pattern": None,
        "channel": channel,
        "data": 1,
    }
    ps.punsubscribe()
    assert next_message(ps)["type"] == "punsubscribe"
    assert pub.publish(channel, b"nobody") == 0
    ps.close()


def test_listen_in_a_thread(clients: Callable[..., Any], key: bytes) -> None:
    sub, pub = clients(), clients()
    channel = key + b":feed"
    ps = sub.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(channel)
    assert wait_until(lambda: pub.pubsub_numsub(channel) == [(channel, 1)])

    def collect() -> list[bytes]:
        out: list[bytes] = []
        for msg in ps.listen():
            if msg["type"] != "message":
                continue
            if msg["data"] == b"stop":
                return out
            out.append(msg["data"])
        return out

    reader = Background(collect)
    for i in range(50):
        pub.publish(channel, b"%d" % i)
    pub.publish(channel, b"stop")
    assert reader.join() == [b"%d" % i for i in range(50)]
    ps.close()


def test_subscribed_resp2_connection_refuses_other_commands(
    respcache_server: ServerProcess, key: bytes
) -> None:
    with respcache_server.raw() as conn:
        assert conn.call("SUBSCRIBE", key).kind == "*"
        reply = conn.call("GET", key)
        assert reply.is_error
        assert reply.value.startswith(b"ERR Can't execute 'get'")
        assert conn.call("PING").value[0].value == b"pong"


def test_resp3_subscriber_keeps_working_and_gets_pushes(
    respcache_server: ServerProcess, client: Any, key: bytes
) -> None:
    with respcache_server.raw() as conn:
        assert conn.call("HELLO", "3").kind == "%"
        assert conn.call("SUBSCRIBE", key) == (">", [("$", b"subscribe"), ("$", key), (":", b"1")])
        # A RESP3 connection in subscribed mode may run any command.
        assert conn.call("SET", key + b":x", "1") == ("+", b"OK")
        assert conn.call("PING") == ("+", b"PONG")
        assert client.publish(key, b"m") == 1
        assert conn.read_reply() == (">", [("$", b"message"), ("$", key), ("$", b"m")])


def test_keyspace_notifications(fresh_respcache_server: ServerProcess) -> None:
    with fresh_respcache_server.client() as conn, fresh_respcache_server.client() as sub:
        conn.config_set("notify-keyspace-events", "KEl")
        ps = sub.pubsub(ignore_subscribe_messages=True)
        ps.psubscribe("__key*@0__:*")
        assert wait_until(lambda: conn.pubsub_numpat() == 1)
        conn.rpush("mylist", "a")
        conn.lpop("mylist")  # empties it: "del" is of class g, not enabled
        conn.set("ignored", "1")  # class $ is not enabled
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 4 and time.monotonic() < deadline:
            msg = ps.get_message(timeout=0.5)  # None also for the ignored confirmation
            if msg is not None and msg["type"] == "pmessage":
                got.append((msg["channel"], msg["data"]))
        assert got == [
            (b"__keyspace@0__:mylist", b"rpush"),
            (b"__keyevent@0__:rpush", b"mylist"),
            (b"__keyspace@0__:mylist", b"lpop"),
            (b"__keyevent@0__:lpop", b"mylist"),
        ]
        assert ps.get_message(timeout=0.3) is None
        ps.close()


# --- transactions -----------------------------------------------------------------------------------


def test_pipeline_transaction(client: Any, key: bytes) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.rpush(key, b"a", b"b")
    pipe.lrange(key, 0, -1)
    pipe.incr(key)  # WRONGTYPE at run time, returned in place
    pipe.lpop(key)
    results = pipe.execute(raise_on_error=False)
    assert results[:2] == [2, [b"a", b"b"]]
    assert isinstance(results[2], redis.ResponseError)
    assert "WRONGTYPE" in str(results[2])
    assert results[3] == b"a"


def test_queueing_error_aborts(client: Any, key: bytes) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set(key, b"v")
    pipe.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError, match=r"EXECABORT|unknown command"):
        pipe.execute()
    assert client.get(key) is None


def test_watch_multi_conflict_and_retry(clients: Callable[..., Any], key: bytes) -> None:
    conn, other = clients(), clients()
    conn.set(key, b"1")
    with conn.pipeline() as pipe:
        pipe.watch(key)
        current = int(pipe.get(key))
        other.set(key, b"100")  # someone else writes in between
        pipe.multi()
        pipe.set(key, current + 1)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert conn.get(key) == b"100"

    def increment(pipe: Any) -> None:
        value = int(pipe.get(key))
        pipe.multi()
        pipe.set(key, value + 1)

    assert conn.transaction(increment, key) == [True]
    assert conn.get(key) == b"101"


def test_transaction_in_resp3(clients: Callable[..., Any], key: bytes) -> None:
    conn = clients(protocol=3)
    pipe = conn.pipeline(transaction=True)
    pipe.rpush(key, b"x")
    pipe.lpop(key, 5)
    pipe.lpop(key, 5)  # missing key with a count: null
    assert pipe.execute() == [1, [b"x"], None]


def test_blocking_pop_inside_transaction_never_blocks(client: Any, key: bytes) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.blpop([key], timeout=0)
    pipe.brpoplpush(key, key + b":dst", timeout=0)
    assert pipe.execute() == [None, None]


# --- blocking pops from several clients -------------------------------------------------------------


def test_blpop_served_in_fifo_order(
    respcache_server: ServerProcess, clients: Callable[..., Any], key: bytes
) -> None:
    first_conn, second_conn, pusher = clients(), clients(), clients()
    first = Background(lambda: first_conn.blpop([key], timeout=20))
    wait_blocked(respcache_server, 1)
    second = Background(lambda: second_conn.blpop([key], timeout=20))
    wait_blocked(respcache_server, 2)
    assert pusher.rpush(key, b"one", b"two") == 2
    assert first.join() == (key, b"one")
    assert second.join() == (key, b"two")
    assert pusher.exists(key) == 0


def test_blocking_timeouts(clients: Callable[..., Any], key: bytes) -> None:
    conn = clients()
    assert conn.blpop([key], timeout=0.1) is None
    assert conn.brpop([key, key + b":2"], timeout=0.1) is None
    assert conn.brpoplpush(key, key + b":d", timeout=0.1) is None
    assert conn.blmove(key, key + b":d", 0.1, "LEFT", "RIGHT") is None
    assert conn.blmpop(0.1, 1, key, direction="LEFT") is None
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        conn.blpop([key], timeout=-1)


def test_blocking_timeouts_resp3(clients: Callable[..., Any], key: bytes) -> None:
    conn = clients(protocol=3)
    assert conn.blpop([key], timeout=0.1) is None
    assert conn.blmpop(0.1, 1, key, direction="RIGHT") is None


def test_blmove_and_blmpop_served_by_another_client(
    respcache_server: ServerProcess, clients: Callable[..., Any], key: bytes
) -> None:
    mover_conn, mpop_conn, pusher = clients(), clients(), clients()
    src, dst = key + b":src", key + b":dst"
    mover = Background(lambda: mover_conn.blmove(src, dst, 20, "RIGHT", "LEFT"))
    wait_blocked(respcache_server, 1)
    mpop = Background(
        lambda: mpop_conn.blmpop(20, 2, key + b":none", src, direction="LEFT", count=5)
    )
    wait_blocked(respcache_server, 2)
    pusher.rpush(src, b"1", b"2", b"3")
    assert mover.join() == b"3"
    assert mpop.join() == [src, [b"1", b"2"]]
    assert pusher.lrange(dst, 0, -1) == [b"3"]


def test_blocked_client_in_resp3_served(
    respcache_server: ServerProcess, clients: Callable[..., Any], key: bytes
) -> None:
    waiter_conn, pusher = clients(protocol=3), clients()
    waiter = Background(lambda: waiter_conn.brpop([key + b":a", key], timeout=20))
    wait_blocked(respcache_server, 1)
    pusher.lpush(key, b"v")
    assert waiter.join() in ((key, b"v"), [key, b"v"])


def test_client_unblock(
    respcache_server: ServerProcess, clients: Callable[..., Any], key: bytes
) -> None:
    waiter_conn, admin = clients(), clients()
    waiter_id = waiter_conn.client_id()
    waiter = Background(lambda: waiter_conn.blpop([key], timeout=0))
    wait_blocked(respcache_server, 1)
    assert admin.client_unblock(waiter_id) == 1
    assert waiter.join() is None
