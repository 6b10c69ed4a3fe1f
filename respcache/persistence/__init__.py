"""Persistence in Redis's own formats: RDB files, DUMP payloads and their encodings.

Sans-IO like ``store``: these modules turn a keyspace into bytes and back and never
import asyncio; the server decides when to save (SAVE, BGSAVE in a forked child, the
``save`` schedule, SHUTDOWN) and where (``dir``, ``dbfilename``). See docs/persistence.md.
"""
