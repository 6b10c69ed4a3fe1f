"""The :class:`Config` object: typed attributes, CONFIG GET/SET/REWRITE, callbacks."""


from __future__ import annotations

import contextlib
import glob as glob_mod
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence

from respcache.config.attributes import ConfigAttributes
from respcache.config.settings import _ALL_NAMES, _BY_ATTRIBUTE, _BY_NAME, _TABLE, Setting, lookup
from respcache.config.syntax import ConfigFileError, _Line, argv_to_options, split_args, stringmatch
from respcache.config.values import (
    _CLASS_ORDER,
    _CLIENT_CLASSES,
    BufferLimit,
    _default_value,
    _Invalid,
    _parse,
    _render,
    _rewrite_lines,
    quote,
)
from respcache.errors import ConfigError

Callback = Callable[[object], None]


class Config(ConfigAttributes):
    """The server's configuration: typed attributes, CONFIG GET/SET/REWRITE, callbacks.

    ``Config(**overrides)`` starts from the defaults; keyword names use underscores and
    values may be typed (``port=0``, ``bind=["127.0.0.1"]``, ``appendonly=False``) or
    strings in config-file syntax (``maxmemory="100mb"``).
    """


    user_lines: list[tuple[list[str], int | None, str]]
    """``user NAME RULE...`` lines: (the words, line number, line), loaded by the ACL."""

    renamed_commands: list[tuple[str, str, int | None, str]]
    """``rename-command OLD NEW`` lines: (old, new, line number, line), applied by the engine
    (which knows the command table); NEW empty removes the command."""

    config_file: str | None
    """Absolute path of the file this configuration was loaded from (CONFIG REWRITE target)."""

    ignored_env: list[str]
    """``RESPCACHE_*`` environment variables that name no setting (ignored, worth a warning)."""

    def __init__(self, **overrides: object) -> None:
        self._values: dict[str, object] = {s.name: _default_value(s) for s in _TABLE}
        self._callbacks: dict[str, list[Callback]] = {}
        self.config_file = None
        self.ignored_env = []
        self.renamed_commands = []
        self.user_lines = []
        for key, value in overrides.items():
            s = _BY_ATTRIBUTE.get(key.lower()) or lookup(key)
            if s is None:
                raise ConfigError(f"ERR Unknown option '{key}'")
            try:
                self._values[s.name] = _parse(s, _to_text(value), self._values[s.name])
            except _Invalid as exc:
                raise ConfigError(f"ERR Invalid argument for '{s.name}' - {exc}") from None

    # --- reading ----------------------------------------------------------------------

    def get(self, name: str) -> object:
        """The typed value of a setting by Redis name or alias (``"maxmemory-policy"``)."""
        return self._values[self._setting(name).name]

    def render(self, name: str) -> str:
        """The value as CONFIG GET shows it (memory in bytes, ``yes``/``no``...)."""
        s = self._setting(name)
        return _render(s, self._values[s.name])

    def output_buffer_limit(self, klass: str) -> BufferLimit:
        """The output buffer limit of a client class: ``normal``, ``replica`` (``slave``) or ``pubsub``."""
        limits = self.client_output_buffer_limit
        return limits[_CLIENT_CLASSES[klass.lower()]]

    def matching(self, patterns: list[str]) -> dict[str, str]:
        """CONFIG GET: every setting matching one of the glob ``patterns``, name -> text.

        As in Redis 7: a pattern without ``*?[`` is an exact, case-insensitive lookup that
        answers under the name as given; globs match canonical names and aliases
        (case-insensitive) and answer under the registered name; each setting name
        appears once.
        """
        result: dict[str, str] = {}
        seen: set[str] = set()
        for pattern in patterns:
            if not any(c in pattern for c in "[*?"):
                lowered = pattern.lower()
                s = _BY_NAME.get(lowered)
                if s is not None and lowered not in seen:
                    seen.add(lowered)
                    result[pattern] = _render(s, self._values[s.name])
                continue
            for name in _ALL_NAMES:
                s = _BY_NAME[name]
                if s.hidden:  # hidden settings answer an exact name only
                    continue
                if name not in seen and stringmatch(pattern, name, nocase=True):
                    seen.add(name)
                    result[name] = _render(s, self._values[s.name])
        return result

    # --- CONFIG SET ---------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """CONFIG SET of one setting; see :meth:`set_many`."""
        self.set_many([(name, value)])

    def set_many(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET k1 v1 k2 v2 ...: every value is set, or none is.

        Raises ConfigError with Redis's reply text: an unknown name, an immutable setting
        or a name given twice is reported first (the first problem, under the name as
        typed); then values are parsed in order and the first bad one is reported under
        the setting's name. Callbacks run after every value is in place, for the settings
        whose value changed; a callback raising ConfigError undoes the whole call.
        """
        found: list[tuple[Setting, str]] = []
        seen: set[str] = set()
        for name, _ in pairs:
            s = lookup(name)
            if s is None:
                raise ConfigError(
                    f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )
            if not s.mutable:
                raise ConfigError(_set_failed(name, "can't set immutable config"))
            key = name.lower()  # aliases count as different names, as in Redis 7.0
            if key in seen:
                raise ConfigError(_set_failed(name, "duplicate parameter"))
            seen.add(key)
            found.append((s, key))

        old = dict(self._values)
        new = dict(self._values)
        for (s, key), (_, text) in zip(found, pairs, strict=True):
            try:
                new[s.name] = _parse(s, text, new[s.name])
            except _Invalid as exc:
                raise ConfigError(_set_failed(key, str(exc))) from None

        changed = [s.name for s, _ in found if new[s.name] != old[s.name]]
        self._values = new
        done: list[str] = []
        try:
            for name in dict.fromkeys(changed):
                done.append(name)
                self._fire(name, new[name])
        except ConfigError as exc:
            self._values = old
            for name in done:
                with contextlib.suppress(ConfigError):
                    self._fire(name, old[name])
            reason = str(exc).removeprefix("ERR ")
            raise ConfigError(_set_failed(done[-1], reason)) from None

    def on_change(self, name: str, callback: Callback) -> None:
        """Call ``callback(new_value)`` after a CONFIG SET changed this setting.

        A callback may refuse the change by raising ConfigError: the CONFIG SET is undone
        and fails with its message.
        """
        self._callbacks.setdefault(self._setting(name).name, []).append(callback)

    def _fire(self, name: str, value: object) -> None:
        for callback in self._callbacks.get(name, ()):
            callback(value)

    # --- loading ------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        stdin: str | None = None,
    ) -> Config:
        """Build a Config as redis-server does: defaults, then ``path``, then ``env``, then ``args``.

        ``args`` are redis-server style command-line words (``["--port", "7000",
        "--save", ""]``); ``env`` is scanned for ``RESPCACHE_<NAME>`` (dashes as
        underscores, any case for the name); ``stdin`` is config text read after the file
        (``redis-server -``). Raises :class:`ConfigFileError` with redis-server's report.
        """
        config = cls()
        text = ""
        if path is not None:
            config.config_file = os.path.abspath(path)
            text = _read_config_file(path)
        if stdin is not None:
            text += stdin
        save_seen = [False]
        config._load_text(text, 1, save_seen)
        if env is not None:
            config._load_env(env, save_seen)
        if args:
            # redis-server appends "\n" + options to the file text: count lines the same way.
            first = len(text.split("\n")) + 1
            config._load_text(argv_to_options(args), first, save_seen)
        return config

    def _load_text(self, text: str, first_lineno: int, save_seen: list[bool]) -> None:
        for offset, raw in enumerate(text.split("\n")):
            line = raw.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            lineno = first_lineno + offset
            words = split_args(line)
            if words is None:
                raise ConfigFileError("Unbalanced quotes in configuration line", lineno, line)
            if not words:
                continue
            directive = words[0].lower()
            if directive == "include" and len(words) == 2:
                self._include(words[1], save_seen)
                continue
            if directive == "user" and len(words) >= 2:
                self.user_lines.append((words, lineno, line))
                continue
            if directive == "rename-command" and len(words) == 3:
                self.renamed_commands.append((words[1], words[2], lineno, line))
                continue
            self._apply_line(_Line(lineno, line, words), save_seen)

    def _include(self, pattern: str, save_seen: list[bool]) -> None:
        paths = sorted(glob_mod.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        for path in paths:
            self._load_text(_read_config_file(path), 1, save_seen)

    def _apply_line(self, line: _Line, save_seen: list[bool], where: str | None = None) -> None:
        s = lookup(line.words[0])
        if s is None:
            raise ConfigFileError(
                "Bad directive or wrong number of arguments", line.lineno, line.text, where
            )
        args = line.words[1:]
        if not s.multi_arg and len(args) != 1:
            raise ConfigFileError("wrong number of arguments", line.lineno, line.text, where)
        text = " ".join(args)
        try:
            value = _parse(s, text, self._values[s.name])
        except _Invalid as exc:
            raise ConfigFileError(str(exc), line.lineno, line.text, where) from None
        if s.name == "save":
            # Deprecated Redis behaviour: save lines accumulate; the first one in a load
            # replaces the default, and `save ""` clears.
            assert isinstance(value, tuple)
            current = self._values["save"]
            assert isinstance(current, tuple)
            if save_seen[0] and value:
                value = current + value
            save_seen[0] = True
        self._values[s.name] = value

    def _load_env(self, env: Mapping[str, str], save_seen: list[bool]) -> None:
        for var, value in env.items():
            if not var.upper().startswith("RESPCACHE_"):
                continue
            s = _BY_ATTRIBUTE.get(var[len("RESPCACHE_") :].lower())
            if s is None:
                self.ignored_env.append(var)
                continue
            shown = f"{s.name} {quote(value)}"
            where = f"Reading the environment variable {var}"
            self._apply_line(_Line(None, shown, [s.name, value]), save_seen, where)

    # --- CONFIG REWRITE -----------------------------------------------------------------

    def rewrite(self) -> None:
        """CONFIG REWRITE: write the current settings into the file they were loaded from.

        Done as Redis does: comments, blank lines and directives respcache does not
        rewrite (``include``) stay where they are; each setting replaces its first line
        in the file (aliases count as the setting) and its other lines are blanked;
        settings that differ from their defaults and are not in the file are appended
        after a ``# Generated by CONFIG REWRITE`` line; lines naming unknown settings
        become ``# ??? <line>``; runs of blank lines become one. The new file replaces
        the old one atomically.
        """
        if self.config_file is None:
            raise ConfigError("ERR The server is running without a config file")
        try:
            content = self._rewritten(self.config_file)
            _atomic_write(self.config_file, content)
        except OSError as exc:
            raise ConfigError(f"ERR Rewriting config file: {exc.strerror or exc}") from None

    def _rewritten(self, path: str) -> str:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        lines: list[str] = []
        option_lines: dict[str, list[int]] = {}
        needs_signature = True
        for raw in old.split("\n") if old else []:
            line = raw.strip("\r\n\t ")
            if not line or line.startswith("#"):
                if line == _SIGNATURE:
                    needs_signature = False
                lines.append(line)
                continue
            words = split_args(line)
            directive = words[0].lower() if words else ""
            if directive in ("include", "rename-command", "user"):
                lines.append(line)  # kept as they are (Redis regenerates user lines)
                continue
            s = lookup(directive) if words else None
            if s is None:
                lines.append("# ??? " + line)
                continue
            option_lines.setdefault(s.name, []).append(len(lines))
            lines.append(line)

        processed: set[str] = set()

        def put(name: str, line: str, force: bool) -> None:
            nonlocal needs_signature
            processed.add(name)
            slots = option_lines.get(name)
            if slots:
                lines[slots.pop(0)] = line
            elif force:
                if needs_signature:
                    lines.append(_SIGNATURE)
                    needs_signature = False
                lines.append(line)

        for s in _TABLE:
            value = self._values[s.name]
            new_lines, force = _rewrite_lines(s, value)
            if s.name == "client-output-buffer-limit":
                assert isinstance(value, Mapping)
                default = _default_value(s)
                assert isinstance(default, Mapping)
                for klass, line in zip(_CLASS_ORDER, new_lines, strict=True):
                    put(s.name, line, value[klass] != default[klass])
                continue
            processed.add(s.name)
            for line in new_lines:
                put(s.name, line, force)

        for name, slots in option_lines.items():
            if name in processed:
                for index in slots:
                    lines[index] = ""

        out: list[str] = []
        was_empty = False
        for line in lines:
            if not line:
                if was_empty:
                    continue
                was_empty = True
            else:
                was_empty = False
            out.append(line + "\n")
        return "".join(out)

    # --- helpers ------------------------------------------------------------------------

    def _setting(self, name: str) -> Setting:
        s = lookup(name)
        if s is None:
            raise KeyError(name)
        return s

    def __repr__(self) -> str:
        changed = {
            s.name: _render(s, v)
            for s in _TABLE
            if (v := self._values[s.name]) != _default_value(s) and not s.sensitive
        }
        return f"Config({changed!r})"


_SIGNATURE = "# Generated by CONFIG REWRITE"


def _set_failed(name: str, reason: str) -> str:
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


def _to_text(value: object) -> str:
    """A typed keyword value in config-file syntax: True -> "yes", ["a", "b"] -> "a b"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return " ".join(f"{k} {_to_text(v)}" for k, v in value.items())
    if isinstance(value, Iterable):
        return " ".join(_to_text(v) for v in value)
    raise ConfigError(f"ERR Invalid argument {value!r}")


def _read_config_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
            return f.read()
    except OSError as exc:
        # redis-server logs this line through serverLog and exits 1.
        reason = f"Fatal error, can't open config file '{path}': {exc.strerror or exc}"
        raise ConfigFileError(reason, header=False) from None


def _atomic_write(path: str, content: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
