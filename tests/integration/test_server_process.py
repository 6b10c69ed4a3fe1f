"""The server process: admission (maxclients, protected mode, AUTH), signals, idle
timeout, slow readers, configuration files, and redis-benchmark.

Each test that changes server options gets its own process (``server_factory``).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import ServerFactory, ServerProcess, encode_command, respcache_is_redis, wait_until

pytestmark = pytest.mark.integration

MAXCLIENTS_REPLY = b"-ERR max number of clients reached\r\n"
NOAUTH_REPLY = b"-NOAUTH Authentication required.\r\n"
WRONGPASS_REPLY = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


# --- maxclients -------------------------------------------------------------------------


def test_maxclients(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(maxclients=3)
    conns = [server.raw() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.call("PING") == ("+", b"PONG")
        with server.raw() as extra:
            assert extra.wait_closed(5.0) == MAXCLIENTS_REPLY
        # A slot freed is usable again.
        conns.pop().close()

        def admitted() -> bool:
            with server.raw() as again:
                again.send_raw(b"PING\r\n")
                return again.read_available(0.5) == b"+PONG\r\n"

        assert wait_until(admitted, 10.0)
    finally:
        for conn in conns:
            conn.close()


# --- requirepass / AUTH -----------------------------------------------------------------


def test_requirepass(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(requirepass="s3cret")
    with server.raw() as conn:
        assert conn.call("GET", "k").value == NOAUTH_REPLY[1:-2]
        assert conn.call("PING").value == NOAUTH_REPLY[1:-2]
        assert conn.call("AUTH", "wrong") == ("-", WRONGPASS_REPLY[1:-2])
        assert conn.call("AUTH", "default", "wrong") == ("-", WRONGPASS_REPLY[1:-2])
        assert conn.call("AUTH", "nobody", "s3cret") == ("-", WRONGPASS_REPLY[1:-2])
        assert conn.call("AUTH", "a", "b", "c") == ("-", b"ERR syntax error")
        assert conn.call("AUTH", "s3cret") == ("+", b"OK")
        assert conn.call("SET", "k", "v") == ("+", b"OK")
        assert conn.call("AUTH", "default", "s3cret") == ("+", b"OK")
    with server.raw() as conn:
        reply = conn.call("HELLO", "3", "AUTH", "default", "s3cret")
        assert reply.kind == "%"
        assert conn.call("GET", "k") == ("$", b"v")
    with server.client() as conn:  # redis-py sends AUTH itself
        assert conn.get("k") == b"v"
    with (
        redis.Redis(
            host=server.host, port=server.port, password="wrong", retry=Retry(NoBackoff(), 0)
        ) as conn,
        pytest.raises(redis.AuthenticationError),
    ):
        conn.ping()


def test_auth_without_requirepass(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        assert conn.call("AUTH", "x") == (
            "-",
            b"ERR AUTH <password> called without any password configured for the default "
            b"user. Are you sure your configuration is correct?",
        )
        # The default user has no password: any password is accepted.
        assert conn.call("AUTH", "default", "x") == ("+", b"OK")
        assert conn.call("AUTH", "nobody", "x") == ("-", WRONGPASS_REPLY[1:-2])


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
        (b"*1\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
    ],
)
def test_unauthenticated_frame_limits(
    server_factory: ServerFactory, frame: bytes, error: bytes
) -> None:
    server = server_factory.respcache(requirepass="s3cret")
    with server.raw() as conn:
        conn.send_raw(frame)
        assert conn.wait_closed(5.0) == error
    with server.raw() as conn:  # after AUTH the limits are gone
        assert conn.call("AUTH", "s3cret") == ("+", b"OK")
        assert conn.call("ECHO", b"x" * 20000) == ("$", b"x" * 20000)
        assert conn.call("MSET", *[f"k{i}" for i in range(12)]) == ("+", b"OK")


# --- protected mode -----------------------------------------------------------------------


def _from_127_0_0_2(server: ServerProcess) -> bytes:
    """Connect from source address 127.0.0.2 (not "local" for Redis), send PING."""
    with server.raw(source=("127.0.0.2", 0)) as conn:
        conn.send_raw(b"PING\r\n")
        try:
            return conn.wait_closed(3.0)
        except TimeoutError:
            return conn.read_available(0.1) or b"(open, no reply)"


def test_protected_mode_text(server_factory: ServerFactory, redis_server: ServerProcess) -> None:
    """Redis 7.0 treats only 127.0.0.1 and ::1 as local: 127.0.0.2 is refused with DENIED."""
    expected = _from_127_0_0_2(redis_server)
    assert expected.startswith(b"-DENIED Redis is running in protected mode")
    server = server_factory.respcache()
    assert _from_127_0_0_2(server) == expected


def test_protected_mode_off_or_password(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(protected_mode=False)
    with server.raw(source=("127.0.0.2", 0)) as conn:
        assert conn.call("PING") == ("+", b"PONG")
    server = server_factory.respcache(requirepass="pw")
    with server.raw(source=("127.0.0.2", 0)) as conn:
        assert conn.call("PING") == ("-", NOAUTH_REPLY[1:-2])


# --- signals and shutdown ------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero_and_stops_listening(server_factory: ServerFactory, signum: int) -> None:
    server = server_factory.respcache()
    client = server.raw()
    assert client.call("SET", "k", "v") == ("+", b"OK")
    server.signal(signum)
    assert server.wait(15) == 0
    assert not server.listening()
    assert client.read_all(5.0) == b""  # the open connection was closed
    client.close()


def test_shutdown_command(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.raw() as conn:
        info = conn.call("COMMAND", "INFO", "shutdown")
        if info.value[0].value is None:
            pytest.skip("SHUTDOWN not registered yet")
        conn.send("SHUTDOWN", "NOSAVE")
        assert conn.read_all(10.0) == b""
    assert server.wait(15) == 0
    assert not server.listening()


# --- idle timeout -------------------------------------------------------------------------------


def test_idle_timeout_closes_idle_clients(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(timeout=1)
    with server.raw(timeout=15) as idle:
        assert idle.call("PING") == ("+", b"PONG")
        assert idle.wait_closed(15.0) == b""
    # The server still accepts and serves new clients.
    with server.raw() as conn:
        assert conn.call("PING") == ("+", b"PONG")


def test_no_timeout_by_default(respcache_server: ServerProcess) -> None:
    with respcache_server.raw() as conn:
        assert conn.call("CONFIG", "GET", "timeout") == ("*", [("$", b"timeout"), ("$", b"0")])


# --- a client that never reads its replies ------------------------------------------------------


def _flood(server: ServerProcess, request: bytes, count: int) -> tuple[int, str]:
    """Send ``request`` up to ``count`` times without reading a reply; (sent, why it stopped)."""
    sock = socket.create_connection((server.host, server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(3.0)
    sent, why = 0, "all sent"
    try:
        for _ in range(count):
            try:
                sock.sendall(request)
            except TimeoutError:
                why = "the server stopped reading"
                break
            except (BrokenPipeError, ConnectionResetError):
                why = "the server closed the connection"
                break
            sent += 1
        time.sleep(1.0)  # let the server work through what it read
    finally:
        sock.close()
    return sent, why


def test_client_not_reading_replies_does_not_grow_the_server(server_factory: ServerFactory) -> None:
    """3000 x ECHO of 100 kB (300 MB of replies), never read, with the default settings.

    The server must stay bounded: stop reading that client while its replies
    are not drained (respcache), or close it (Redis needs an explicit
    ``client-output-buffer-limit`` for normal clients, given in oracle mode).
    The peak RSS (VmHWM) is checked, so a transient spike counts.
    """
    options: dict[str, Any] = {}
    if respcache_is_redis():
        options["client_output_buffer_limit"] = ["normal", "32mb", "0", "0"]
    server = server_factory.respcache(**options)
    baseline = server.peak_rss_bytes()
    sent, why = _flood(server, encode_command(["ECHO", b"e" * 100_000]), 3000)
    growth = server.peak_rss_bytes() - baseline
    with server.raw() as other:  # other clients are still served
        assert other.call("PING") == ("+", b"PONG")
    assert growth < 100 * 1024 * 1024, f"peak RSS grew by {growth >> 20} MiB ({sent} sent, {why})"


def test_output_buffer_hard_limit_bounds_amplified_replies(server_factory: ServerFactory) -> None:
    """Small requests, big replies: 3000 pipelined GETs of a 100 kB value (66 kB sent).

    Pausing reading cannot help here (the requests fit in one read); with a hard
    ``client-output-buffer-limit normal 32mb`` the client must be closed without
    the server ever holding the 300 MB of replies (peak RSS checked).
    """
    server = server_factory.respcache(client_output_buffer_limit=["normal", "32mb", "0", "0"])
    with server.client() as conn:
        conn.set("big", b"v" * 100_000)
    baseline = server.peak_rss_bytes()
    sent, why = _flood(server, encode_command(["GET", "big"]) * 100, 30)
    growth = server.peak_rss_bytes() - baseline
    with server.raw() as other:
        assert other.call("PING") == ("+", b"PONG")
        assert other.call("STRLEN", "big") == (":", b"100000")
    assert growth < 100 * 1024 * 1024, (
        f"peak RSS grew by {growth >> 20} MiB ({sent} x 100 GETs sent, {why})"
    )


# --- configuration ----------------------------------------------------------------------------


def test_config_file_and_overrides(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(
        config_file="# comment\nmaxclients 7\nmaxmemory-policy allkeys-lru\nhz 20\n", hz=15
    )
    with server.client(decode_responses=True) as conn:
        assert conn.config_get("maxclients") == {"maxclients": "7"}
        assert conn.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert conn.config_get("hz") == {"hz": "15"}  # the command line wins


def test_bad_option_fails_to_start(tmp_path: Any) -> None:
    from support.servers import ServerStartError, start_respcache

    with pytest.raises(ServerStartError) as info:
        start_respcache({"maxmemory-policy": "sometimes"}, workdir=tmp_path)
    assert "maxmemory-policy" in str(info.value)


# --- redis-benchmark ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [[], ["-P", "16", "-c", "10", "-r", "1000"]], ids=["plain", "pipelined"]
)
def test_redis_benchmark_runs_clean(respcache_server: ServerProcess, extra: list[str]) -> None:
    result = subprocess.run(
        [
            "redis-benchmark",
            *respcache_server.cli_args(),
            "-t",
            "ping,set,get",
            "-n",
            "2000",
            "-q",
            *extra,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 0, out
    assert "WARN" not in out and "ERR" not in out.upper().replace("PER SECOND", ""), out
    lines = [line.split("\r")[-1] for line in result.stdout.decode().splitlines() if line.strip()]
    tests = {line.split(":")[0] for line in lines if "requests per second" in line}
    assert tests == {"PING_INLINE", "PING_MBULK", "SET", "GET"}, out


def test_pubsub_soft_output_limit_closes_a_slow_subscriber(server_factory: ServerFactory) -> None:
    """``client-output-buffer-limit pubsub 0 256kb 1``: over the soft limit for a second."""
    server = server_factory.respcache(client_output_buffer_limit=["pubsub", "0", "256kb", "1"])
    with server.raw() as subscriber, server.raw() as publisher:
        subscriber.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        subscriber.send_raw(encode_command(["SUBSCRIBE", "slow"]))
        message = encode_command(["PUBLISH", "slow", b"m" * 10_000])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            publisher.send_raw(message * 20)
            replies = [publisher.read_reply() for _ in range(20)]
            if replies[-1] == (":", b"0"):
                break  # the subscriber is gone
            time.sleep(0.05)
        assert replies[-1] == (":", b"0")
        with server.client() as conn:
            assert all(c["cmd"] != "subscribe" for c in conn.client_list())


def test_debug_is_refused_by_default_and_rename_command(server_factory: ServerFactory) -> None:
    """Redis 7.0's safe default (``enable-debug-command no``) and ``rename-command`` lines."""
    server = server_factory.respcache(
        config_file='rename-command GET FETCH\nrename-command FLUSHALL ""\n'
    )
    with server.raw() as conn:
        reply = conn.call("DEBUG", "SLEEP", "0")
        assert reply.is_error and reply.text().startswith("ERR DEBUG command not allowed.")
        assert conn.call("SET", "k", "v") == ("+", b"OK")
        assert conn.call("FETCH", "k") == ("$", b"v")
        assert conn.call("GET", "k").text().startswith("ERR unknown command 'GET'")
        assert conn.call("FLUSHALL").text().startswith("ERR unknown command 'FLUSHALL'")
    enabled = server_factory.respcache(enable_debug_command="local")
    with enabled.raw() as conn:
        assert conn.call("DEBUG", "SLEEP", "0") == ("+", b"OK")


def test_rename_command_of_no_command_is_fatal(tmp_path: Any) -> None:
    from support.servers import ServerStartError, start_respcache

    with pytest.raises(ServerStartError) as info:
        start_respcache(config_file="rename-command NOSUCH X\n", workdir=tmp_path)
    assert "No such command in rename-command" in str(info.value)
