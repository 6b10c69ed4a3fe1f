"""CONFIG SET port / bind listen anew, as redis-server 7.0.15 does (changeListenPort,
changeBindAddr), with Redis's errors and a rollback when the new address is taken."""

from __future__ import annotations

import socket

from support import RawConnection, Reply, ServerFactory, free_port

PORT_ERROR = (
    b"ERR CONFIG SET failed (possibly related to argument 'port') - "
    b"Unable to listen on this port. Check server logs."
)
BIND_ERROR = (
    b"ERR CONFIG SET failed (possibly related to argument 'bind') - "
    b"Failed to bind to specified addresses."
)


def _ping(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with RawConnection(host, port, timeout=2.0) as conn:
            return conn.call("PING") == ("+", b"PONG")
    except OSError:
        return False


def _values(reply: Reply) -> list[bytes]:
    return [item.value for item in reply.value]


def test_config_set_port_and_bind(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    old = server.port
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        with server.raw() as conn:
            busy = taken.getsockname()[1]
            reply = conn.call("CONFIG", "SET", "maxmemory", "10000001", "port", str(busy))
            assert reply == ("-", PORT_ERROR)
            assert _values(conn.call("CONFIG", "GET", "maxmemory")) == [b"maxmemory", b"0"]
        assert _ping(old)  # rolled back: still listening where it was
        new = free_port()
        with server.raw() as conn:
            assert conn.call("CONFIG", "SET", "port", str(new)) == ("+", b"OK")
        server.port = new
        assert _ping(new) and not _ping(old)
        with server.raw() as conn:
            assert conn.call("CONFIG", "SET", "bind", "127.0.0.2") == ("+", b"OK")
        server.host = "127.0.0.2"
        assert _ping(new, "127.0.0.2") and not _ping(new)
        with server.raw() as conn:
            assert conn.call("CONFIG", "SET", "bind", "127.0.0.1 192.0.2.1") == ("-", BIND_ERROR)
            assert _values(conn.call("CONFIG", "GET", "bind")) == [b"bind", b"127.0.0.2"]
        assert _ping(new, "127.0.0.2")
    finally:
        taken.close()
