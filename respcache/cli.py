"""``respcache-server``: the command line, used exactly like ``redis-server``.

::

    respcache-server [CONFIGFILE] [--name value [value ...]] ...
    respcache-server conf/respcache.conf --port 7000 --maxmemory 100mb --save ""

The click command only gathers the words; :meth:`respcache.config.Config.load` reads them
the way redis-server does (file, then ``RESPCACHE_*`` environment, then the ``--``
options), after which logging is set up and :func:`respcache.server.run` serves until
shutdown. A bad option or file prints redis-server's ``*** FATAL CONFIG FILE ERROR``
report to stderr and exits with status 1.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from collections.abc import Sequence

import click

from respcache import REDIS_VERSION, __version__
from respcache.config import SETTINGS, Config, ConfigFileError
from respcache.log import setup_logging

__all__ = ["command", "main", "version_text"]

log = logging.getLogger("respcache.cli")


def version_text() -> str:
    return f"respcache {__version__} (Redis {REDIS_VERSION} compatible)"


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit(0)


_SETTING_NAMES = textwrap.fill(
    ", ".join(SETTINGS),
    width=78,
    initial_indent="  ",
    subsequent_indent="  ",
    break_on_hyphens=False,
)

_HELP = f"""Start a respcache server, a Redis-protocol compatible replicated cache.

Used like redis-server: an optional CONFIGFILE in redis.conf syntax (see
conf/respcache.conf), then any setting as --name value [value ...], which overrides
the file. Settings may also come from RESPCACHE_<NAME> environment variables (dashes
as underscores, e.g. RESPCACHE_MAXMEMORY_POLICY=allkeys-lru). Precedence: defaults <
file < environment < command line. A lone '-' as the first or last word reads more
configuration from standard input.

\b
Examples:
  respcache-server
  respcache-server conf/respcache.conf
  respcache-server --port 7000 --maxmemory 100mb --maxmemory-policy allkeys-lru
  respcache-server /etc/respcache.conf --loglevel verbose --save ""
  respcache-server --zookeeper 127.0.0.1:2181/respcache --cluster-name prod

\b
Settings (conf/respcache.conf documents each; CONFIG GET * shows the values):
{_SETTING_NAMES}
"""


@click.command(
    help=_HELP,
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@click.option(
    "-v",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@click.argument(
    "words", nargs=-1, type=click.UNPROCESSED, metavar="[CONFIGFILE] [--name value ...]"
)
@click.pass_context
def command(ctx: click.Context, words: tuple[str, ...]) -> None:
    args = list(words)
    path: str | None = None
    if args and not args[0].startswith("-"):
        path = args.pop(0)
    stdin_text: str | None = None
    # redis-server reads the config from stdin for a lone '-' as its first or last word.
    if args and args[-1] == "-":
        args.pop()
        stdin_text = sys.stdin.read()
    elif path is None and args and args[0] == "-":
        args.pop(0)
        stdin_text = sys.stdin.read()

    try:
        config = Config.load(path, args, os.environ, stdin=stdin_text)
        from respcache.commands.engine import command_table, load_acl

        command_table(config)  # rename-command lines name commands: fatal as a bad line
        load_acl(config)  # user lines too
    except ConfigFileError as exc:
        _fatal(ctx, str(exc))
    try:
        setup_logging(config)
    except OSError as exc:
        _fatal(ctx, str(ConfigFileError(f"Can't open the log file: {exc.strerror or exc}")))
    for var in config.ignored_env:
        log.warning("Ignoring environment variable %s: no such setting", var)

    from respcache.server import run  # the server pulls in every layer: import it last

    ctx.exit(run(config))


def _fatal(ctx: click.Context, text: str) -> None:
    click.echo("\n" + text, err=True)
    ctx.exit(1)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script entry point (``respcache-server = "respcache.cli:main"``)."""
    command.main(args=list(argv) if argv is not None else None, prog_name="respcache-server")


if __name__ == "__main__":
    main()
