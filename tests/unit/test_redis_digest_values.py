"""DEBUG DIGEST / DIGEST-VALUE give redis-server 7.0.15's exact hex (values recorded from it)."""

from __future__ import annotations

from conftest import Run

from respcache.commands import Client

SETUP: list[tuple[object, ...]] = [
    ("SET", "s", "hello"),
    ("RPUSH", "l", "a", "1"),
    ("SADD", "st", "1", "x"),
    ("ZADD", "z", "1", "a", "2.5", "b"),
    ("HSET", "h", "f", "v"),
    ("XADD", "x", "1-1", "f", "v"),
    ("SET", "t", "v"),
    ("PEXPIREAT", "t", "99999999999999"),
]

# redis-server 7.0.15: DEBUG DIGEST-VALUE s l st z h x t
VALUES = [
    "36b23a1456b2dce2c3ed252c456761301dba8060",
    "a4b574dfd44a241b7583aa0f4da11ef31ee0b995",
    "96257d5cc29f1c46ff96a88360b5c99de66ae13f",
    "c45c5b051acd64070e5ed1a949939d5145f806c5",
    "90c76e9e9f4c62d642a34fc97c7dad503b51f906",
    "2ed9a7a81688084b1f7eae33456ef7727d357031",
    "311b17018163335616e089f6b951c82c477335ac",
]


def test_values_and_dataset_match_redis(client: Client, run: Run) -> None:
    for command in SETUP:
        run(client, *command)
    assert run(client, "DEBUG", "DIGEST-VALUE", "s", "l", "st", "z", "h", "x", "t") == VALUES
    assert run(client, "DEBUG", "DIGEST") == "329823d34b1ab1ef80cef277707b1c6c75975560"
    run(client, "SELECT", "1")
    run(client, "SET", "s", "hello")
    assert run(client, "DEBUG", "DIGEST") == "47c141771a6bc2ab3fdf4f5ee348e9143bc0194a"
    assert run(client, "DEBUG", "DIGEST-VALUE", "nosuch") == ["0" * 40]
