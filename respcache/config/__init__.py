"""Configuration: the table of settings, the :class:`Config` object and redis.conf files.

Every setting is data: a frozen :class:`Setting` in one registry, :data:`SETTINGS`, keyed
by its Redis name. The same table drives everything that touches configuration: parsing
a redis.conf-syntax file, ``--name value`` command-line pairs and ``RESPCACHE_*``
environment variables, ``CONFIG GET`` (glob patterns, aliases), ``CONFIG SET`` (all or
nothing, Redis's error texts), ``CONFIG REWRITE`` (comments and unknown lines kept) and the
commented ``conf/respcache.conf``.

A :class:`Config` is a plain object in the uvicorn style::

    config = Config(port=0, maxmemory="100mb", maxmemory_policy="allkeys-lru")
    config.maxmemory            # 100000000 (typed attribute, keyword names use underscores)
    config.get("maxmemory")     # the same value by Redis name
    config.render("maxmemory")  # '100000000', as CONFIG GET shows it
    config.set("maxmemory", "1gb")            # CONFIG SET: parse, validate, run callbacks
    config = Config.load("respcache.conf", ["--port", "7000"], os.environ)

Precedence when loading: defaults < file < environment (``RESPCACHE_MAXMEMORY_POLICY``) <
command line. Errors are :class:`~respcache.errors.ConfigError` whose message is the whole
reply text (``ERR CONFIG SET failed ...``); a bad file or command line raises
:class:`ConfigFileError`, whose text is redis-server's fatal report.
"""

from respcache.config.model import Config
from respcache.config.settings import SETTINGS, Kind, Setting, lookup
from respcache.config.syntax import (
    ConfigFileError,
    argv_to_options,
    split_args,
    stringmatch,
)
from respcache.config.values import BufferLimit, _parse, format_memory, parse_memory, quote

__all__ = [
    "SETTINGS",
    "BufferLimit",
    "Config",
    "ConfigFileError",
    "Kind",
    "Setting",
    "_parse",
    "argv_to_options",
    "format_memory",
    "lookup",
    "parse_memory",
    "quote",
    "split_args",
    "stringmatch",
]
