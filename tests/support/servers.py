"""Start and stop real server processes (respcache or redis-server) on free loopback ports.

Every process started here is

* given a free port on 127.0.0.1 and its own working directory,
* waited for until it answers ``PING`` (any reply, ``-NOAUTH`` included) or exits,
* logged to a file (stdout + stderr) that :func:`failure_report` shows when a test fails,
* killed with SIGKILL when the Python process that started it dies, whatever the
  reason (``PR_SET_PDEATHSIG``), on interpreter exit (``atexit``), and by the
  fixtures' teardown in the normal case (SIGTERM first, SIGKILL after a grace period).

Environment:

``RCTEST_IMPL=redis``
    "respcache" servers are real redis-server processes: runs the integration
    suite against the oracle to check the tests themselves.
``RCTEST_SERVER_CMD``
    The command that starts respcache (default: ``<python> -m respcache``).
``RCTEST_REDIS_SERVER``
    redis-server to use (default: ``redis-server`` from PATH).

``RESPCACHE_*`` variables of the test run are not passed on to the servers (respcache
reads its settings from them), so a developer's shell cannot change what the tests see.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .net import free_port, port_is_open
from .resp import RawConnection

OptionValue = str | int | float | bool | None
Options = Mapping[str, OptionValue | Sequence[OptionValue]]

START_TIMEOUT = 20.0
STOP_GRACE = 10.0

_LIVE: list[ServerProcess] = []
"""Every process started and not yet reaped, for failure reports and the atexit sweep."""


def respcache_is_redis() -> bool:
    """True when the suite runs its "respcache" servers as redis-server (oracle mode)."""
    return os.environ.get("RCTEST_IMPL", "respcache").lower() == "redis"


def redis_server_bin() -> str:
    return os.environ.get("RCTEST_REDIS_SERVER") or shutil.which("redis-server") or "redis-server"


def respcache_command() -> list[str]:
    override = os.environ.get("RCTEST_SERVER_CMD")
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "respcache"]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    os.setsid()  # a test's Ctrl-C must not reach the server before the fixture stops it


def options_to_args(options: Options) -> list[str]:
    """``{"save": "", "maxmemory_policy": "allkeys-lru"}`` → ``--save '' --maxmemory-policy ...``.

    A value that is a list/tuple becomes several arguments after the option
    (``client_output_buffer_limit=("normal", "1mb", "0", "0")``), ``True``/``False``
    become ``yes``/``no``, ``None`` drops the option.
    """
    args: list[str] = []
    for name, value in options.items():
        if value is None:
            continue
        args.append("--" + name.replace("_", "-"))
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, bool):
                args.append("yes" if item else "no")
            else:
                args.append(str(item))
    return args


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("RESPCACHE_")}


class ServerStartError(RuntimeError):
    pass


class ServerProcess:
    """One server process. Use :func:`start_respcache` / :func:`start_redis` to make one."""

    def __init__(
        self,
        impl: str,
        argv: list[str],
        port: int,
        workdir: Path,
        host: str = "127.0.0.1",
        password: str | None = None,
        name: str | None = None,
    ) -> None:
        self.impl = impl
        self.argv = argv
        self.host = host
        self.port = port
        self.workdir = workdir
        self.password = password
        self.name = name or f"{impl}:{port}"
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                env=_child_env(),
            )
        _LIVE.append(self)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until a PING gets any reply; fails with the log if the process exits first."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self._reaped(code)
                raise ServerStartError(
                    f"{self.name} exited with code {code} before answering PING\n"
                    f"argv: {shlex.join(self.argv)}\n--- log ---\n{self.log_text()}"
                )
            try:
                with RawConnection(self.host, self.port, timeout=2.0) as conn:
                    conn.send_raw(b"*1\r\n$4\r\nPING\r\n")
                    reply = conn.read_reply()
                if reply.kind == "-" and reply.value.startswith(b"LOADING"):
                    raise ConnectionError("loading")
                return
            except (OSError, ConnectionError, TimeoutError, Exception) as err:
                last_error = err
                time.sleep(0.01)
        raise ServerStartError(
            f"{self.name} did not answer PING within {timeout}s ({last_error!r})\n"
            f"argv: {shlex.join(self.argv)}\n--- log ---\n{self.log_text()}"
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; its return code (TimeoutExpired if it does not)."""
        assert self.proc is not None
        code = self.proc.wait(timeout)
        self._reaped(code)
        return code

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self._reaped(self.proc.wait())

    def kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._reaped(self.proc.wait(5))

    def _reaped(self, code: int) -> int:
        self.returncode = code
        with contextlib.suppress(ValueError):
            _LIVE.remove(self)
        return code

    def restart(self, timeout: float = START_TIMEOUT) -> ServerProcess:
        self.stop()
        self.proc = None
        self.returncode = None
        return self.start(timeout)

    # --- inspection ---------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def log_text(self, limit: int = 20_000) -> str:
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return "(no log file)"
        if len(data) > limit:
            data = b"[... %d bytes cut ...]\n" % (len(data) - limit) + data[-limit:]
        return data.decode("utf-8", "replace") or "(empty log)"

    def rss_bytes(self) -> int:
        """Resident set size of the process, from /proc."""
        return self._status_kb("VmRSS") * 1024

    def peak_rss_bytes(self) -> int:
        """The highest resident set size the process has had (VmHWM)."""
        return self._status_kb("VmHWM") * 1024

    def _status_kb(self, name: str) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {name} in /proc/{self.pid}/status")

    def listening(self) -> bool:
        return port_is_open(self.host, self.port)

    def cli_args(self) -> list[str]:
        """Arguments that point redis-cli / redis-benchmark at this server."""
        args = ["-h", self.host, "-p", str(self.port)]
        if self.password:
            args += ["--no-auth-warning", "-a", self.password]
        return args

    # --- clients ------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> Any:
        """A redis-py ``Redis`` (RESP2 unless ``protocol=3``), closed by the caller.

        It retries a failed call once, at once (``retry=`` overrides): redis-py's own
        default (ten retries, backing off up to a second) spends seconds before a test
        that expects the connection to drop (SHUTDOWN, a deleted user, a killed
        server) sees its ``ConnectionError``.
        """
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        kwargs.setdefault("password", self.password)
        kwargs.setdefault("socket_timeout", 30)
        kwargs.setdefault("retry", Retry(NoBackoff(), 1))
        return redis.Redis(host=self.host, port=self.port, **kwargs)

    def async_client(self, **kwargs: Any) -> Any:
        """A ``redis.asyncio.Redis``; create it inside the running event loop (retries
        as :meth:`client`)."""
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        kwargs.setdefault("password", self.password)
        kwargs.setdefault("socket_timeout", 30)
        kwargs.setdefault("retry", Retry(NoBackoff(), 1))
        return redis.asyncio.Redis(host=self.host, port=self.port, **kwargs)

    def raw(self, timeout: float = 10.0, source: tuple[str, int] | None = None) -> RawConnection:
        """A :class:`RawConnection` (no AUTH sent)."""
        return RawConnection(self.host, self.port, timeout=timeout, source=source)

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"<{self.name} pid={self.proc.pid if self.proc else None} {state}>"


def _workdir(base: Path | None, prefix: str) -> Path:
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    return Path(tempfile.mkdtemp(prefix=prefix))


def _password(options: Options) -> str | None:
    value = options.get("requirepass")
    return str(value) if value else None


def start_redis(
    options: Options | None = None,
    *,
    extra_args: Sequence[str] = (),
    workdir: Path | None = None,
    port: int | None = None,
    name: str | None = None,
) -> ServerProcess:
    """A real redis-server: ``--save '' --appendonly no`` plus ``options``."""
    opts: dict[str, Any] = {
        "bind": "127.0.0.1",
        "save": "",
        "appendonly": "no",
        "loglevel": "warning",
        "daemonize": "no",
    }
    opts.update(options or {})
    port = port or free_port()
    wd = _workdir(workdir, "redis-")
    argv = [redis_server_bin(), "--port", str(port), "--dir", str(wd)]
    argv += options_to_args(opts) + list(extra_args)
    return ServerProcess("redis", argv, port, wd, password=_password(opts), name=name).start()


def start_respcache(
    options: Options | None = None,
    *,
    extra_args: Sequence[str] = (),
    config_file: str | None = None,
    workdir: Path | None = None,
    port: int | None = None,
    name: str | None = None,
) -> ServerProcess:
    """A respcache server (``--save '' --loglevel warning``) plus ``options``.

    ``config_file`` is the text of a configuration file, written to the server's
    directory and passed first, as ``redis-server CONFIGFILE --opt value``.
    """
    if respcache_is_redis():
        opts = dict(options or {})
        wd = _workdir(workdir, "oracle-")
        if config_file is not None:
            path = wd / "server.conf"
            path.write_text(config_file)
            port = port or free_port()
            argv = [redis_server_bin(), str(path), "--port", str(port), "--dir", str(wd)]
            argv += options_to_args(
                {"bind": "127.0.0.1", "save": "", "appendonly": "no", "loglevel": "warning"} | opts
            )
            argv += list(extra_args)
            return ServerProcess(
                "redis", argv, port, wd, password=_password(opts), name=name
            ).start()
        return start_redis(opts, extra_args=extra_args, workdir=wd, port=port, name=name)
    opts = {"bind": "127.0.0.1", "save": "", "loglevel": "warning"}
    opts.update(options or {})
    port = port or free_port()
    wd = _workdir(workdir, "respcache-")
    argv = respcache_command()
    if config_file is not None:
        path = wd / "server.conf"
        path.write_text(config_file)
        argv.append(str(path))
    argv += ["--port", str(port)]  # its working directory is ``wd`` (the default ``dir``)
    argv += options_to_args(opts) + list(extra_args)
    return ServerProcess("respcache", argv, port, wd, password=_password(opts), name=name).start()


class ServerFactory:
    """Starts servers with custom options; :meth:`close` stops them all."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: list[ServerProcess] = []

    def respcache(
        self, options: dict[str, Any] | None = None, /, **kw_options: Any
    ) -> ServerProcess:
        """A respcache server; options as keyword arguments or a dict (``{"save": ""}``)."""
        extra_args = kw_options.pop("extra_args", ())
        config_file = kw_options.pop("config_file", None)
        opts = {**(options or {}), **kw_options}
        server = start_respcache(
            opts, extra_args=extra_args, config_file=config_file, workdir=self.base
        )
        self.servers.append(server)
        return server

    def redis(self, options: dict[str, Any] | None = None, /, **kw_options: Any) -> ServerProcess:
        """A real redis-server."""
        extra_args = kw_options.pop("extra_args", ())
        opts = {**(options or {}), **kw_options}
        server = start_redis(opts, extra_args=extra_args, workdir=self.base)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


def live_servers() -> list[ServerProcess]:
    return list(_LIVE)


def failure_report(servers: Sequence[ServerProcess] | None = None, limit: int = 8000) -> str:
    """The logs of the given (default: every live) server, for a failed test's report."""
    parts = []
    for server in servers if servers is not None else live_servers():
        state = "running" if server.alive() else f"exited with {server.returncode}"
        parts.append(
            f"=== {server.name} (pid {server.proc.pid if server.proc else '-'}, {state}) ===\n"
            f"argv: {shlex.join(server.argv)}\n{server.log_text(limit)}"
        )
    return "\n".join(parts)


@atexit.register
def _kill_all() -> None:
    for server in list(_LIVE):
        server.kill()


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true (returns True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def connect_refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return False
    except OSError:
        return True
