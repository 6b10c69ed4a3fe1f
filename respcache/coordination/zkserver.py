"""Run a real, standalone ZooKeeper from the Debian ``zookeeper`` package.

Used by the ``tests/cluster`` fixtures and by development tooling. The server
listens on 127.0.0.1 only, with the admin (Jetty) server disabled and the
four-letter-word commands needed for health checks and watch inspection
whitelisted. A low ``tickTime`` allows sub-second sessions
(``minSessionTimeout = 2 * tickTime``).

Java is started directly (no ``zkServer.sh``): the Debian ``zookeeper.jar``
names its dependencies in its manifest ``Class-Path``, so the class path is
that jar plus an slf4j binding for log4j 1.2 so that the server log lands in
``<data_dir>/zookeeper.log``. JVM flags are chosen for a fast start
(C1 only, class data sharing, serial GC, small heap).

Example::

    with ZooKeeperServer("/tmp/zk") as zk:
        client = KazooClient(zk.connect_string)
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

__all__ = [
    "FOUR_LETTER_WORDS",
    "ZooKeeperError",
    "ZooKeeperServer",
    "find_classpath",
    "four_letter_word",
    "free_port",
]

FOUR_LETTER_WORDS = ("ruok", "srvr", "stat", "mntr", "conf", "cons", "wchs", "wchc", "wchp")
"""The four-letter-word commands the server accepts (``4lw.commands.whitelist``)."""

MAIN_CLASS = "org.apache.zookeeper.server.ZooKeeperServerMain"

# Where distributions put the jars: Debian (/usr/share/java) and the Apache
# tarball layout (lib/ next to bin/).
_JAR_DIRS = ("/usr/share/java", "/usr/share/zookeeper", "/usr/share/zookeeper/lib")
_LOG_JARS = ("slf4j-log4j12.jar", "log4j-1.2.jar")

JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",  # C1 only: ZooKeeper is idle, start-up is what counts
    "-Xshare:auto",
    "-XX:+UseSerialGC",
    "-XX:-UsePerfData",
    "-Xss512k",
    "-Djava.net.preferIPv4Stack=true",
    "-Dzookeeper.admin.enableServer=false",
    "-Dzookeeper.jmx.log4j.disable=true",
)


def default_cds_archive(java: str, classpath: Sequence[str]) -> Path:
    """Where the AppCDS archive for this JVM and class path is cached.

    The name hashes the JVM binary (path and mtime) and the class path, so an
    upgrade of either makes a new archive instead of reusing a stale one.
    """
    real = os.path.realpath(java)
    try:
        stamp = str(os.stat(real).st_mtime_ns)
    except OSError:
        stamp = "?"
    key = hashlib.sha256("\0".join([real, stamp, *classpath]).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "respcache" / f"zookeeper-{key}.jsa"


class ZooKeeperError(RuntimeError):
    """ZooKeeper could not be found, started or stopped."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def four_letter_word(host: str, port: int, word: str, timeout: float = 2.0) -> str:
    """Send a four-letter-word command (``ruok``, ``srvr``, ``wchc``...) and return the answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(word.encode("ascii"))
        chunks: list[bytes] = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def find_classpath(search: Sequence[str] | None = None) -> list[str]:
    """The class path for a standalone ZooKeeper server.

    ``$RESPCACHE_ZOOKEEPER_CLASSPATH`` (``:``-separated) wins when set. Otherwise
    the first ``zookeeper.jar`` found in ``search`` (its manifest lists its
    dependencies, as Debian builds it) plus the log4j binding next to it; or,
    for the Apache tarball layout, every jar of the ``lib`` directory holding
    ``zookeeper-<version>.jar``.
    """
    override = os.environ.get("RESPCACHE_ZOOKEEPER_CLASSPATH")
    if override:
        return [part for part in override.split(os.pathsep) if part]
    if search is None:
        search = _JAR_DIRS
    for directory in map(Path, search):
        jar = directory / "zookeeper.jar"
        if jar.is_file():
            extra = [str(directory / name) for name in _LOG_JARS if (directory / name).is_file()]
            return [str(jar), *extra]
        versioned = sorted(directory.glob("zookeeper-[0-9]*.jar"))
        if versioned:
            return [str(path) for path in sorted(directory.glob("*.jar"))]
    raise ZooKeeperError(
        f"no ZooKeeper jar found in {', '.join(search)} (install the 'zookeeper' package "
        "or set RESPCACHE_ZOOKEEPER_CLASSPATH)"
    )


def _kill_on_exit(ref: weakref.ReferenceType[ZooKeeperServer]) -> None:
    server = ref()
    if server is not None:
        server.stop(timeout=2.0)


class ZooKeeperServer:
    """A standalone ZooKeeper process owning ``data_dir``.

    ``port=0`` picks a free loopback port on the first :meth:`start`; the port
    and the data are kept across :meth:`restart`, so clients reconnect to the
    same address and find their sessions and znodes again.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int = 0,
        tick_time: int = 200,
        *,
        host: str = "127.0.0.1",
        heap_mb: int = 64,
        max_session_timeout_ms: int = 60_000,
        force_sync: bool = True,
        java: str | None = None,
        startup_timeout: float = 30.0,
        extra_config: Mapping[str, str] | None = None,
        cds_archive: str | os.PathLike[str] | None = "auto",
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.tick_time = tick_time
        self.host = host
        self.heap_mb = heap_mb
        self.max_session_timeout_ms = max_session_timeout_ms
        self.force_sync = force_sync
        self.java = java or shutil.which("java") or "/usr/bin/java"
        self.startup_timeout = startup_timeout
        self.extra_config = dict(extra_config or {})
        self.cds_archive: Path | None
        if cds_archive == "auto":
            self.cds_archive = default_cds_archive(self.java, find_classpath())
        else:
            self.cds_archive = Path(cds_archive) if cds_archive is not None else None
        self._cds_dump: Path | None = None
        self.start_seconds: float | None = None
        """Wall time of the last :meth:`start`, from exec to serving requests."""
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None
        atexit.register(_kill_on_exit, weakref.ref(self))

    # -- addresses -------------------------------------------------------------------------------

    @property
    def connect_string(self) -> str:
        """``host:port`` for ``KazooClient(hosts=...)`` (append ``/chroot`` as needed)."""
        if not self.port:
            raise ZooKeeperError("port not chosen yet: start() the server first")
        return f"{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "zoo.cfg"

    @property
    def log_path(self) -> Path:
        """The server log (log4j) written by the running server."""
        return self.data_dir / "zookeeper.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- configuration ---------------------------------------------------------------------------

    def config(self) -> dict[str, str]:
        """The ``zoo.cfg`` settings :meth:`start` writes."""
        settings = {
            "tickTime": str(self.tick_time),
            "dataDir": str(self.data_dir / "data"),
            "clientPort": str(self.port),
            "clientPortAddress": self.host,
            "minSessionTimeout": str(2 * self.tick_time),
            "maxSessionTimeout": str(self.max_session_timeout_ms),
            "maxClientCnxns": "0",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": ",".join(FOUR_LETTER_WORDS),
            "forceSync": "yes" if self.force_sync else "no",
            "autopurge.snapRetainCount": "3",
            "autopurge.purgeInterval": "1",
        }
        settings.update(self.extra_config)
        return settings

    def _write_files(self) -> None:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        lines = [f"{key}={value}" for key, value in self.config().items()]
        self.config_path.write_text(
            "# written by respcache.coordination.zkserver\n" + "\n".join(lines) + "\n"
        )
        (self.data_dir / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, FILE\n"
            "log4j.appender.FILE=org.apache.log4j.FileAppender\n"
            f"log4j.appender.FILE.File={self.log_path}\n"
            "log4j.appender.FILE.Append=true\n"
            "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.FILE.layout.ConversionPattern="
            "%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n\n"
        )

    def _cds_flags(self) -> list[str]:
        # Application class data sharing: the first start records the classes it
        # loaded into a temporary archive (dumped when the JVM exits cleanly, moved
        # into place by stop()); later starts map it, which saves about a quarter
        # of the start-up time. With -Xshare:auto a bad archive is ignored.
        self._cds_dump = None
        if self.cds_archive is None:
            return []
        quiet = "-Xlog:cds=off,cds+dynamic=off"
        if self.cds_archive.is_file():
            return [f"-XX:SharedArchiveFile={self.cds_archive}", quiet]
        with contextlib.suppress(OSError):
            self.cds_archive.parent.mkdir(parents=True, exist_ok=True)
            self._cds_dump = self.cds_archive.with_name(
                f"{self.cds_archive.name}.{os.getpid()}.{id(self)}.tmp"
            )
            return [f"-XX:ArchiveClassesAtExit={self._cds_dump}", quiet]
        return []

    def _finish_cds_dump(self, clean_exit: bool) -> None:
        dump, self._cds_dump = self._cds_dump, None
        if dump is None or self.cds_archive is None:
            return
        with contextlib.suppress(OSError):
            if clean_exit and dump.is_file() and dump.stat().st_size > 0:
                os.replace(dump, self.cds_archive)
            else:
                dump.unlink(missing_ok=True)

    def command(self, cds_flags: Sequence[str] = ()) -> list[str]:
        """The ``java`` command line :meth:`start` runs (it adds the class-sharing flags)."""
        classpath = os.pathsep.join(find_classpath())
        return [
            self.java,
            "-Xms16m",
            f"-Xmx{self.heap_mb}m",
            *JVM_FLAGS,
            *cds_flags,
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            f"-Dzookeeper.log.dir={self.data_dir}",
            "-cp",
            classpath,
            MAIN_CLASS,
            str(self.config_path),
        ]

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the server and return once it serves requests (see :meth:`serving`)."""
        if self.running:
            raise ZooKeeperError(f"ZooKeeper already running (pid {self.pid})")
        if not self.port:
            self.port = free_port(self.host)
        self._write_files()
        command = self.command(self._cds_flags())
        out = (self.data_dir / "zookeeper.out").open("ab")
        began = time.monotonic()
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # a ^C in the terminal goes to us, not to Java
            )
        finally:
            out.close()
        deadline = began + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                self._finish_cds_dump(clean_exit=False)
                raise ZooKeeperError(
                    f"ZooKeeper exited with status {code} during start-up:\n{self._tail()}"
                )
            if self.serving():
                self.start_seconds = time.monotonic() - began
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ZooKeeperError(
                    f"ZooKeeper did not serve requests within {self.startup_timeout}s:\n{self._tail()}"
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``). Idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        clean = True
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            clean = False
            process.kill()
            process.wait()
        self._finish_cds_dump(clean)

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._finish_cds_dump(clean_exit=False)

    def restart(self) -> None:
        """Stop and start again on the same port with the same data."""
        self.stop()
        self.start()

    def ruok(self) -> bool:
        """True if the server answers ``imok``."""
        with contextlib.suppress(OSError):
            return self.four_letter_word("ruok", timeout=0.5) == "imok"
        return False

    def serving(self) -> bool:
        """True once the server serves requests (``ruok`` answers ``imok`` earlier than that,
        while the database is still loading; ``srvr`` tells the difference)."""
        with contextlib.suppress(OSError):
            return "Mode: " in self.four_letter_word("srvr", timeout=0.5)
        return False

    def four_letter_word(self, word: str, timeout: float = 2.0) -> str:
        """Send a four-letter-word command (see :data:`FOUR_LETTER_WORDS`)."""
        return four_letter_word(self.host, self.port, word, timeout)

    def _tail(self, lines: int = 30) -> str:
        parts: list[str] = []
        for path in (self.data_dir / "zookeeper.out", self.log_path):
            with contextlib.suppress(OSError):
                parts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)

    def __enter__(self) -> ZooKeeperServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<ZooKeeperServer {self.host}:{self.port} {state} data={self.data_dir}>"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m respcache.coordination.zkserver``: run a ZooKeeper until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m respcache.coordination.zkserver",
        description="Run a standalone ZooKeeper on 127.0.0.1 for development.",
    )
    parser.add_argument("--data", default="var/zookeeper", help="data directory")
    parser.add_argument("--port", type=int, default=2181, help="client port (0: a free one)")
    parser.add_argument("--tick-time", type=int, default=200, help="tickTime in milliseconds")
    args = parser.parse_args(argv)
    server = ZooKeeperServer(args.data, port=args.port, tick_time=args.tick_time)
    stop = False

    def interrupt(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    with server:
        print(
            f"ZooKeeper serving on {server.connect_string} (pid {server.pid}, "
            f"started in {server.start_seconds:.2f}s; log {server.log_path})",
            flush=True,
        )
        while not stop and server.running:
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
