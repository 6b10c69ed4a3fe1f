"""A protocol fuzzer against real server processes: no input crashes, hangs or grows the server.

A seeded generator (reproducible: the seed is in every failure message) sends, on
fresh connections,

* every registered command with random arguments, as complete frames: each must be
  answered (one reply per frame) and the connection stays usable;
* garbage: random RESP2/RESP3 fragments, inline lines, huge declared lengths
  (``*2147483648``, ``$-2``, ``$999999999999``), after valid commands. The same bytes
  go to a real redis-server; both must close (or keep open) the connection alike, with
  the same ``-ERR Protocol error: ...`` line;
* partial frames left open on connections that are held for the whole run.

After every case a separate connection PINGs (the server is never stalled), and at
the end, with every client gone, the server's RSS must be near where it started.

Bounded to a few seconds in the suite; ``RCTEST_FUZZ_SECONDS=300 pytest
tests/integration/test_protocol_fuzz.py -s`` runs longer and prints its figures
(``RCTEST_FUZZ_SEED`` picks the seed).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
from dataclasses import dataclass, field

import pytest
from support import ConnectionClosed, RawConnection, ServerFactory, ServerProcess, encode_command

from respcache.commands.registry import REGISTRY

pytestmark = pytest.mark.integration

SECONDS = float(os.environ.get("RCTEST_FUZZ_SECONDS", "4"))
SEED = int(os.environ.get("RCTEST_FUZZ_SEED", str(random.randrange(1 << 30))))

# Commands that change the server itself rather than answer: they would make the
# remaining cases meaningless (a replica, a password, a paused server, a shutdown),
# block by design, or turn the connection into something else.
EXCLUDED = {
    "shutdown",
    "debug",
    "replicaof",
    "slaveof",
    "failover",
    "sync",
    "psync",
    "monitor",
    "config",
    "client",
    "quit",
    "reset",
    "wait",
    "blpop",
    "brpop",
    "brpoplpush",
    "blmove",
    "bzpopmin",
    "bzpopmax",
    "blmpop",
    "bzmpop",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "multi",
    "exec",
    "save",
    "bgsave",
    "bgrewriteaof",
    "acl",
    "auth",
    "hello",
    "replconf",
    "sentinel",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "flushall",
    "swapdb",
    "select",
    "lastsave",
    "xread",
    "xreadgroup",
}

ATOMS = [
    b"",
    b"0",
    b"1",
    b"-1",
    b"10",
    b"100",
    b"-100",
    b"1.5",
    b"inf",
    b"-inf",
    b"nan",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"99999999999999999999",
    b"k",
    b"k2",
    b"h",
    b"s",
    b"z",
    b"l",
    b"EX",
    b"PX",
    b"NX",
    b"XX",
    b"GT",
    b"LT",
    b"KEEPTTL",
    b"GET",
    b"WITHSCORES",
    b"LIMIT",
    b"COUNT",
    b"MATCH",
    b"*",
    b"BY",
    b"STORE",
    b"ASC",
    b"DESC",
    b"LEFT",
    b"RIGHT",
    b"BEFORE",
    b"AFTER",
    b"REV",
    b"BYSCORE",
    b"BYLEX",
    b"[a",
    b"(1",
    b"+",
    b"-",
    b"RANK",
    b"MAXLEN",
    b"IDX",
    b"LEN",
    b"TYPE",
    b"string",
    b"\x00\xff",
]

GARBAGE = [
    b"*",
    b"$",
    b"\r",
    b"\n",
    b"\r\n",
    b"0",
    b"1",
    b"-1",
    b"-2",
    b":",
    b"+",
    b"=",
    b"%",
    b"~",
    b">",
    b"|",
    b"_",
    b",",
    b"#",
    b"!",
    b'"',
    b"'",
    b"\\",
    b"\x00",
    b" ",
    b"a",
    b"PING",
    b"*1\r\n",
    b"*2\r\n",
    b"$1\r\n",
    b"$3\r\n",
    b"*0\r\n",
    b"*-1\r\n",
    b"*2147483648\r\n",
    b"*2147483647\r\n",
    b"*9223372036854775808\r\n",
    b"$-2\r\n",
    b"$999999999999\r\n",
    b"$536870913\r\n",
    b"*1\r\n*99999999\r\n",
    b"%99999999\r\n",
    b"*1\r\n$4\r\nPING\r\n",
    b"PING\r\n",
    b'ECHO "x\r\n',
    b"ECHO 'a'b\r\n",
]

HUGE = [
    b"*2147483648\r\n",
    b"*1\r\n$-2\r\n",
    b"*1\r\n$999999999999\r\n",
    b"*1\r\n$4294967296\r\n",
    b"*99999999999999999999999\r\n",
    b"*1\r\n*2147483647\r\n",
    b"*" + b"9" * 70000,
]


@dataclass
class Figures:
    cases: int = 0
    frames: int = 0
    garbage: int = 0
    closed_alike: int = 0
    liveness_pings: int = 0
    slowest_ping: float = 0.0
    open_partials: int = 0
    failures: list[str] = field(default_factory=list)


def _commands() -> list[str]:
    names = []
    for name, spec in sorted(REGISTRY.items()):
        if "|" in name or name in EXCLUDED or "blocking" in spec.flags:
            continue
        names.append(name)
    return names


def _random_command(rng: random.Random, names: list[str]) -> list[bytes]:
    name = rng.choice(names)
    spec = REGISTRY[name]
    argv = [name.encode() if rng.random() < 0.7 else name.upper().encode()]
    subs = sorted(n.split("|", 1)[1] for n in REGISTRY if n.startswith(name + "|"))
    if subs and rng.random() < 0.9:
        argv.append(rng.choice(subs).encode())
    arity = spec.arity
    count = abs(arity) - len(argv) + (rng.randrange(4) if arity < 0 else 0)
    if rng.random() < 0.1:
        count = rng.randrange(0, 8)  # wrong arity on purpose
    for _ in range(max(count, 0)):
        if rng.random() < 0.85:
            argv.append(rng.choice(ATOMS))
        else:
            argv.append(rng.randbytes(rng.randrange(0, 40)))
    return argv


def _read_all(conn: RawConnection, quiet: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (True) or is quiet for ``quiet`` s."""
    data = conn.buf
    conn.buf = b""
    conn.sock.settimeout(quiet)
    while True:
        try:
            chunk = conn.sock.recv(1 << 16)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def _protocol_error(data: bytes) -> bytes | None:
    start = data.rfind(b"-ERR Protocol error")
    return None if start < 0 else data[start : data.index(b"\r\n", start)]


def _ping(server: ServerProcess, live: RawConnection, figures: Figures, context: str) -> None:
    started = time.monotonic()
    try:
        reply = live.call("PING")
    except (TimeoutError, ConnectionClosed, OSError) as exc:
        alive = server.alive()
        raise AssertionError(
            f"liveness PING failed ({exc}) after {context}; alive={alive}"
        ) from exc
    took = time.monotonic() - started
    figures.liveness_pings += 1
    figures.slowest_ping = max(figures.slowest_ping, took)
    assert reply == ("+", b"PONG"), context
    assert took < 2.0, f"liveness PING took {took:.2f} s after {context}"


def _command_case(
    server: ServerProcess, rng: random.Random, names: list[str], figures: Figures
) -> None:
    frames = [_random_command(rng, names) for _ in range(rng.randrange(1, 20))]
    with server.raw(timeout=10.0) as conn:
        conn.send_raw(b"".join(encode_command(f) for f in frames))
        for argv in frames:
            try:
                conn.read_reply()
            except (TimeoutError, ConnectionClosed) as exc:
                raise AssertionError(f"no reply to {argv!r} (seed {SEED}): {exc}") from exc
        figures.frames += len(frames)
        assert conn.call("PING") == ("+", b"PONG"), f"seed {SEED}, after {frames!r}"


def _garbage(rng: random.Random) -> bytes:
    parts = [encode_command([b"PING"])] * rng.randrange(0, 3)
    parts += [
        rng.choice(GARBAGE) if rng.random() < 0.8 else rng.randbytes(3)
        for _ in range(rng.randrange(1, 25))
    ]
    if rng.random() < 0.2:
        parts.append(rng.choice(HUGE))
    return b"".join(parts)


def _garbage_case(
    server: ServerProcess, oracle: ServerProcess, rng: random.Random, figures: Figures
) -> None:
    data = _garbage(rng)
    outcomes = []
    for target in (server, oracle):
        with target.raw(timeout=5.0) as conn:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.send_raw(data)
            received, closed = _read_all(conn, 0.25)
            outcomes.append((closed, _protocol_error(received)))
    figures.garbage += 1
    assert outcomes[0] == outcomes[1], (
        f"seed {SEED}: {data!r}: respcache {outcomes[0]}, redis {outcomes[1]}"
    )
    figures.closed_alike += 1


def _partial(server: ServerProcess, rng: random.Random) -> socket.socket:
    sock = socket.create_connection((server.host, server.port))
    frame = encode_command([b"SET", b"partial", rng.randbytes(rng.randrange(1, 5000))])
    frame = rng.choice(
        [
            frame[: rng.randrange(1, len(frame))],
            b"*2147483647\r\n",
            b"*3\r\n$3\r\nSET\r\n$16384\r\n",
        ]
    )
    sock.sendall(frame)
    return sock


def run_fuzz(server: ServerProcess, oracle: ServerProcess, seconds: float, seed: int) -> Figures:
    rng = random.Random(seed)
    names = _commands()
    figures = Figures()
    partials: list[socket.socket] = []
    deadline = time.monotonic() + seconds
    with server.raw(timeout=10.0) as live:
        try:
            while time.monotonic() < deadline:
                kind = rng.random()
                if kind < 0.6:
                    _command_case(server, rng, names, figures)
                    context = "commands"
                elif kind < 0.95:
                    _garbage_case(server, oracle, rng, figures)
                    context = "garbage"
                else:
                    partials.append(_partial(server, rng))
                    context = "a partial frame"
                figures.cases += 1
                _ping(server, live, figures, f"{context} (seed {seed})")
            figures.open_partials = len(partials)
        finally:
            for sock in partials:
                sock.close()
    return figures


def test_no_input_crashes_hangs_or_grows_the_server(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    oracle = server_factory.redis()
    with server.raw() as conn:  # warm up: the first allocations are not growth
        conn.call("PING")
    baseline = server.rss_bytes()
    figures = run_fuzz(server, oracle, SECONDS, SEED)
    assert server.alive(), server.log_text()
    with server.raw() as conn:
        conn.call("FLUSHALL")
    time.sleep(0.5)
    after = server.rss_bytes()
    print(
        f"\nfuzz seed={SEED}: {figures.cases} cases, {figures.frames} command frames, "
        f"{figures.garbage} garbage inputs (closed like Redis: {figures.closed_alike}), "
        f"{figures.open_partials} partial frames left open, {figures.liveness_pings} liveness "
        f"PINGs (slowest {figures.slowest_ping * 1000:.0f} ms), crashes 0, hangs 0, "
        f"RSS {baseline >> 20} -> {after >> 20} MiB"
    )
    assert after - baseline < 64 * 1024 * 1024, (
        f"RSS grew {(after - baseline) >> 20} MiB (seed {SEED})"
    )
