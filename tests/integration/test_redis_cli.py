"""redis-cli, unchanged, against respcache: one-shot commands, stdin, --pipe, interactive.

Where the output format matters, the same invocation runs against real
redis-server too and the two outputs (stdout, stderr, exit code) must be equal.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Sequence

import pytest
from support import ServerFactory, ServerProcess

pytestmark = pytest.mark.integration

CLI_TIMEOUT = 30


def cli(
    server: ServerProcess, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["redis-cli", *server.cli_args(), *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def both(
    respcache_server: ServerProcess,
    redis_server: ServerProcess,
    args: Sequence[str],
    stdin: bytes | None = None,
) -> tuple[tuple[bytes, bytes, int], tuple[bytes, bytes, int]]:
    """Run the same redis-cli invocation against both servers; outputs with ports masked."""
    out = []
    for server in (respcache_server, redis_server):
        result = cli(server, *args, stdin=stdin)
        mask = str(server.port).encode()
        out.append(
            (
                result.stdout.replace(mask, b"<port>"),
                result.stderr.replace(mask, b"<port>"),
                result.returncode,
            )
        )
    return out[0], out[1]


def test_one_shot_set_get(respcache_server: ServerProcess, key: bytes) -> None:
    k = key.decode()
    assert cli(respcache_server, "set", k, "hello world").stdout == b"OK\n"
    assert cli(respcache_server, "get", k).stdout == b"hello world\n"
    assert cli(respcache_server, "--no-raw", "get", k).stdout == b'"hello world"\n'
    assert cli(respcache_server, "--no-raw", "get", k + ":missing").stdout == b"(nil)\n"
    assert cli(respcache_server, "--no-raw", "incr", k + ":n").stdout == b"(integer) 1\n"


# Invocations whose whole output must match redis-server's; {k} is a key unique to the test.
SAME_AS_REDIS = [
    ["--no-raw", "set", "{k}", "v"],
    ["--no-raw", "get", "{k}"],
    ["--no-raw", "mget", "{k}", "{k}:missing", "{k}"],
    ["--no-raw", "incr", "{k}"],
    ["--no-raw", "incrbyfloat", "{k}:f", "1.5"],
    ["--no-raw", "get", "{k}:missing"],
    ["--no-raw", "nosuchcommand", "a", "b"],
    ["--no-raw", "get"],
    ["--no-raw", "echo", "tab\there \x01 \xff"],
    ["get", "{k}"],
    ["nosuchcommand"],
    ["-e", "nosuchcommand"],
    ["-e", "incr", "{k}"],
    ["--csv", "mget", "{k}", "{k}:missing"],
    ["-3", "--no-raw", "get", "{k}:missing"],
    ["-3", "--no-raw", "mget", "{k}", "{k}:missing"],
    ["-r", "3", "--no-raw", "incr", "{k}:r"],
    ["--no-raw", "ping"],
    ["ping", "hello"],
]


@pytest.mark.parametrize("template", SAME_AS_REDIS, ids=lambda a: " ".join(a))
def test_output_same_as_redis(
    respcache_server: ServerProcess, redis_server: ServerProcess, key: bytes, template: list[str]
) -> None:
    k = key.decode() + ":" + str(SAME_AS_REDIS.index(template))
    for server in (respcache_server, redis_server):  # same starting value on both
        cli(server, "set", k, "10")
    args = [a.replace("{k}", k) for a in template]
    ours, theirs = both(respcache_server, redis_server, args)
    assert ours == theirs


def test_error_exit_code_with_e(respcache_server: ServerProcess) -> None:
    result = cli(respcache_server, "-e", "nosuchcommand")
    assert result.returncode == 1
    assert b"ERR unknown command 'nosuchcommand'" in result.stdout + result.stderr
    assert cli(respcache_server, "nosuchcommand").returncode == 0  # redis-cli's default


def test_commands_from_stdin(respcache_server: ServerProcess, key: bytes) -> None:
    k = key.decode()
    script = f'set {k} 1\nincr {k}\nincrby {k} 10\nget {k}\nset "{k}:q" "a b\\tc"\nget "{k}:q"\n'
    result = cli(respcache_server, stdin=script.encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"OK\n2\n12\n12\nOK\na b\tc\n"


def test_last_argument_from_stdin(respcache_server: ServerProcess, key: bytes) -> None:
    data = b"line one\nline two\x00\xff"
    assert cli(respcache_server, "-x", "set", key.decode(), stdin=data).stdout == b"OK\n"
    with respcache_server.client() as conn:
        assert conn.get(key) == data


def test_pipe_mode_mass_insertion(respcache_server: ServerProcess, key: bytes) -> None:
    k = key.decode()
    lines = [
        f"*3\r\n$3\r\nSET\r\n${len(f'{k}:{i}')}\r\n{k}:{i}\r\n$1\r\n{i % 10}\r\n"
        for i in range(5000)
    ]
    lines.append("*1\r\n$12\r\nNOSUCHCOMMND\r\n")
    result = cli(respcache_server, "--pipe", stdin="".join(lines).encode())
    assert result.returncode == 1, result.stdout + result.stderr  # 1: there were errors
    assert b"errors: 1, replies: 5001" in result.stdout, result.stdout
    assert result.stderr == b"ERR unknown command 'NOSUCHCOMMND', with args beginning with: \n"
    with respcache_server.client() as conn:
        assert conn.get(f"{k}:4999") == b"9"


def test_auth_with_password(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(requirepass="s3cret")
    assert cli(server, "ping").stdout == b"PONG\n"  # cli_args passes -a
    result = subprocess.run(
        ["redis-cli", "-h", server.host, "-p", str(server.port), "--no-raw", "ping"],
        capture_output=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.stdout == b"(error) NOAUTH Authentication required.\n"


class Interactive:
    """redis-cli in interactive mode on a pseudo-terminal (TERM=dumb: no escape codes)."""

    def __init__(self, server: ServerProcess) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.prompt = f"{server.host}:{server.port}> ".encode()
        self.proc = subprocess.Popen(
            ["redis-cli", *server.cli_args()],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, "TERM": "dumb", "HOME": os.environ.get("HOME", "/tmp")},
            close_fds=True,
        )
        os.close(slave)
        self.buf = b""

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"waiting for {marker!r}; got {self.buf!r}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    raise EOFError(f"redis-cli exited; got {self.buf!r}")
                self.buf += data
        out, _, self.buf = self.buf.partition(marker)
        return out

    def command(self, line: str) -> str:
        os.write(self.master, line.encode() + b"\n")
        out = self.read_until(self.prompt).decode("utf-8", "replace")
        out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out).replace("\r", "")
        # The terminal echoes the line typed; what follows is the reply.
        lines = out.split("\n")
        if lines and lines[0].strip() == line.strip():
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def close(self) -> int:
        try:
            if self.proc.poll() is None:
                os.write(self.master, b"quit\n")
            return self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()
        finally:
            os.close(self.master)


def test_interactive_session(respcache_server: ServerProcess, key: bytes) -> None:
    k = key.decode()
    session = Interactive(respcache_server)
    try:
        session.read_until(session.prompt)
        assert session.command(f"set {k} hello") == "OK"
        assert session.command(f"get {k}") == '"hello"'
        assert session.command(f"incr {k}") == "(error) ERR value is not an integer or out of range"
        assert session.command(f"mget {k} {k}:missing") == '1) "hello"\n2) (nil)'
        assert session.command(f"del {k}") == "(integer) 1"
        assert session.command("ping") == "PONG"
    finally:
        code = session.close()
    assert code == 0
