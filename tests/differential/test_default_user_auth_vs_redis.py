"""Whether a connection must AUTH follows the ``default`` user, as in Redis 7.0.

``clientSetDefaultAuth`` authenticates a new connection when ``default`` is
``nopass`` and ``on``; ``authRequired`` judges the rest at each command. So a password
set with ``ACL SETUSER default`` (no ``requirepass``) asks new connections for AUTH,
leaves connections made before it alone, and ``nopass`` again lets everyone in.
"""

from __future__ import annotations

import pytest
from support import RawConnection, ServerFactory

pytestmark = pytest.mark.integration


def _transcript(host: str, port: int) -> list[object]:
    out: list[object] = []
    with RawConnection(host, port) as old:
        out.append(old.call("ACL", "SETUSER", "default", "resetpass", ">pw"))
        with RawConnection(host, port) as new:
            out += [new.call("GET", "k"), new.call("PING"), old.call("GET", "k")]
            out.append(old.call("ACL", "SETUSER", "default", "nopass"))
            out.append(new.call("GET", "k"))  # nopass again: judged per command
        out.append(old.call("ACL", "SETUSER", "default", "resetpass", ">pw", "off"))
        with RawConnection(host, port) as third:
            out += [third.call("GET", "k"), third.call("AUTH", "pw")]
        out.append(old.call("ACL", "SETUSER", "default", "on", "nopass"))
    return out


def test_the_default_users_password_decides_auth_as_in_redis(
    server_factory: ServerFactory,
) -> None:
    ours = server_factory.respcache()
    theirs = server_factory.redis()
    got, want = _transcript(ours.host, ours.port), _transcript(theirs.host, theirs.port)
    assert got == want
    assert b"NOAUTH" in want[1].value  # type: ignore[attr-defined]
