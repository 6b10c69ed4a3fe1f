"""Errors shared by every layer.

Two families, as in h11: :class:`ProtocolError` means *the peer sent garbage*
(the connection is answered with ``-ERR Protocol error: ...`` and closed);
:class:`CommandError` is an ordinary error reply to a well-formed command and
the connection goes on. The message of a :class:`CommandError` is the whole
reply text after the ``-``, prefix included (``ERR ...``, ``WRONGTYPE ...``).

The constants below are Redis 7's wording, byte for byte.
"""

from __future__ import annotations


class RespcacheError(Exception):
    """Base class of every respcache error."""


class ProtocolError(RespcacheError):
    """The peer sent a malformed frame. ``str(exc)`` is the part after ``Protocol error: ``."""

    @property
    def reply(self) -> str:
        return f"ERR Protocol error: {self}"


class CommandError(RespcacheError):
    """An error reply. ``message`` is the full reply text, e.g. ``ERR syntax error``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def prefix(self) -> str:
        """The error code Redis counts in ``INFO errorstats`` (``ERR``, ``WRONGTYPE``...)."""
        return self.message.split(" ", 1)[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommandError) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)


class ConfigError(RespcacheError):
    """An invalid configuration setting; the message says which and why."""


# Redis 7 error strings. Handlers raise ``CommandError(CONSTANT)``.
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
NOT_POSITIVE = "ERR value is out of range, must be positive"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
INDEX_OUT_OF_RANGE = "ERR index out of range"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
READONLY = "READONLY You can't write against a read only replica."
OOM = "OOM command not allowed when used memory > 'maxmemory'."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"


def wrong_arity(name: str) -> CommandError:
    """``ERR wrong number of arguments for 'get' command`` (name as the client typed it, lowered)."""
    return CommandError(f"ERR wrong number of arguments for '{name}' command")


def unknown_command(argv: list[bytes]) -> CommandError:
    """Redis's reply to an unknown command: the name and up to 128 bytes of quoted arguments."""
    args = ""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += "'" + _quote(arg[: 128 - len(args)]) + "' "
    name = _quote(argv[0][:128])
    return CommandError(f"ERR unknown command '{name}', with args beginning with: {args}")


def unknown_subcommand(sub: bytes, command: str) -> CommandError:
    return CommandError(f"ERR unknown subcommand '{_quote(sub)}'. Try {command.upper()} HELP.")


def _quote(part: bytes) -> str:
    # Error replies are one line: Redis replaces CR and LF by spaces. Raw bytes
    # survive the round trip: the encoder writes errors with surrogateescape.
    text = part.decode("utf-8", "surrogateescape")
    return text.replace("\r", " ").replace("\n", " ")
