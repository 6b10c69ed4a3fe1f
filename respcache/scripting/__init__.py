"""Lua scripting: the sandboxed runtime, its libraries and the Redis ⇄ Lua conversions.

Nothing here imports asyncio or the server: ``runtime.LuaRuntime`` is driven by
the commands in ``respcache/commands/scripting.py`` and ``functions.py``.
"""
