"""ACL through redis-py's own helpers against a real respcache process."""

from __future__ import annotations

import pytest
import redis
from support import ServerFactory

pytestmark = pytest.mark.integration


def test_redis_py_acl_helpers(server_factory: ServerFactory) -> None:
    server = server_factory.respcache()
    with server.client(decode_responses=True) as admin:
        assert admin.acl_whoami() == "default"
        assert admin.acl_setuser(
            "app", enabled=True, passwords=["+s3cret"], keys=["app:*"], commands=["+@read", "+set"]
        )
        info = admin.acl_getuser("app")
        assert info["enabled"] is True
        assert info["keys"] == ["~app:*"]  # redis-py splits the keys string
        assert "app" in admin.acl_users()
        assert any(line.startswith("user app on #") for line in admin.acl_list())
        assert "read" in admin.acl_cat()
        assert "get" in admin.acl_cat("read")
        assert len(admin.acl_genpass()) == 64
        with server.client(username="app", password="s3cret", decode_responses=True) as app:
            assert app.set("app:1", "v") is True
            assert app.get("app:1") == "v"
            with pytest.raises(redis.exceptions.NoPermissionError, match="keys used as arguments"):
                app.get("other")
            with pytest.raises(redis.exceptions.NoPermissionError, match="'del' command"):
                app.delete("app:1")
            assert [c["user"] for c in admin.client_list()].count("app") == 1
            # disabling the user keeps its connections (Redis 7.0); deleting it closes them
            assert admin.acl_setuser("app", enabled=False)
            assert app.get("app:1") == "v"
            with pytest.raises(redis.exceptions.AuthenticationError):
                server.client(username="app", password="s3cret").ping()
            assert admin.acl_deluser("app") == 1
            with pytest.raises(redis.exceptions.ConnectionError):
                app.get("app:1")


def test_requirepass_is_the_default_users_password(server_factory: ServerFactory) -> None:
    server = server_factory.respcache(requirepass="pw")
    with server.client(username="default", password="pw", decode_responses=True) as conn:
        assert conn.acl_getuser("default")["passwords"]
        conn.config_set("requirepass", "")
        assert "nopass" in conn.acl_getuser("default")["flags"]
