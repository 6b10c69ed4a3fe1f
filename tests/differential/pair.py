"""Two servers driven in lock step: real redis-server (the oracle) and respcache."""

from __future__ import annotations

from support import ConnectionClosed, RawConnection, Reply, ServerProcess, encode_command

CLOSED = Reply("!", b"(connection closed by the server)")


def registered_commands(server: ServerProcess) -> set[str]:
    """Lower-case names of every top-level command the server registers (COMMAND LIST)."""
    with server.raw() as conn:
        reply = conn.call("COMMAND", "LIST")
    if reply.kind != "*":
        raise AssertionError(f"COMMAND LIST failed on {server.name}: {reply!r}")
    return {item.value.decode().lower() for item in reply.value}


class Pair:
    """One connection to each server; :meth:`run` sends a command to both."""

    def __init__(self, ours: ServerProcess, theirs: ServerProcess, protocol: int = 2) -> None:
        self.ours_server = ours
        self.theirs_server = theirs
        self.protocol = protocol
        self.ours: RawConnection | None = None
        self.theirs: RawConnection | None = None
        self.ours_commands = registered_commands(ours)

    @property
    def can_reset(self) -> bool:
        return bool({"flushall", "del"} & self.ours_commands)

    def _connect(self, server: ServerProcess) -> RawConnection:
        conn = server.raw(timeout=10.0)
        if self.protocol == 3:
            reply = conn.call("HELLO", "3")
            if reply.kind != "%":
                raise AssertionError(f"HELLO 3 on {server.name} answered {reply!r}")
        return conn

    def close(self) -> None:
        for conn in (self.ours, self.theirs):
            if conn is not None:
                conn.close()
        self.ours = self.theirs = None

    def reset(self) -> None:
        """Fresh connections, db 0 selected, and empty keyspaces on both sides.

        The connections are new for every example: an example that failed half-way (a
        reply left unread on one side) cannot shift the next example's replies by one.
        """
        self.close()
        if not self.ours_server.alive():
            raise AssertionError(
                f"respcache died (exit code {self.ours_server.proc.poll() if self.ours_server.proc else None})"
                f"\n{self.ours_server.log_text()}"
            )
        if self.theirs is None or self.theirs.closed:
            self.theirs = self._connect(self.theirs_server)
        if self.ours is None or self.ours.closed:
            self.ours = self._connect(self.ours_server)
        assert self.theirs.call("SELECT", "0") == ("+", b"OK")
        assert self.theirs.call("FLUSHALL") == ("+", b"OK")
        if "select" in self.ours_commands:
            self.ours.call("SELECT", "0")
        if "flushall" in self.ours_commands:
            reply = self.ours.call("FLUSHALL")
            if reply != ("+", b"OK"):
                raise AssertionError(f"FLUSHALL on respcache answered {reply!r}")
        else:  # not there yet: delete the key alphabet (db 0 only)
            from generators import KEYS

            reply = self.ours.call("DEL", *KEYS)
            if reply.kind != ":":
                raise AssertionError(
                    f"cannot empty respcache between examples: DEL answered {reply!r}"
                )

    def run(self, argv: tuple[bytes, ...]) -> tuple[Reply, Reply]:
        """Send to both servers (they work at the same time), then read both replies."""
        assert self.theirs is not None and self.ours is not None
        frame = encode_command(argv)
        self.theirs.send_raw(frame)
        self.ours.send_raw(frame)
        try:
            theirs = self.theirs.read_reply()
        except ConnectionClosed:
            theirs = CLOSED
        try:
            ours = self.ours.read_reply()
        except ConnectionClosed:
            ours = CLOSED
        except TimeoutError as err:
            ours = Reply("!", f"(no reply: {err})".encode())
            self.ours.close()
            self.ours.closed = True
        return theirs, ours
