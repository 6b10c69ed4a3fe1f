"""Test certificates made with the ``openssl`` command line (no extra Python package).

:func:`make_certs` writes a CA, a server certificate for ``127.0.0.1``/``localhost``,
a second server certificate (another subject, the same CA: the reload test), a client
certificate, the server key encrypted with a passphrase, and a second, unrelated CA
that verifies none of them. EC P-256 keys: quick to generate.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .net import free_port
from .servers import (
    START_TIMEOUT,
    ServerProcess,
    ServerStartError,
    _workdir,
    options_to_args,
    respcache_command,
)

__all__ = [
    "Certs",
    "TlsServerProcess",
    "have_openssl",
    "make_certs",
    "server_options",
    "start_tls_only",
    "tls_connection",
    "tls_context",
]

KEY_PASSPHRASE = "pass-phrase"


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


@dataclass(frozen=True)
class Certs:
    dir: Path
    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    server_key_encrypted: Path
    other_cert: Path
    other_key: Path
    client_cert: Path
    client_key: Path
    stranger_ca: Path
    ca_dir: Path
    """A directory holding the CA under its hash name (``openssl rehash``)."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _key(name: str, cwd: Path) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name, cwd=cwd)


def _ca(name: str, cwd: Path) -> None:
    _key(f"{name}.key", cwd)
    _openssl(
        "req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.crt",
        "-days", "3", "-subj", f"/O=respcache tests/CN={name}", cwd=cwd,
    )  # fmt: skip


def _signed(name: str, subject: str, ext: str, cwd: Path) -> None:
    _key(f"{name}.key", cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=cwd)
    (cwd / f"{name}.ext").write_text(ext)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", f"{name}.crt", "-days", "3", "-extfile", f"{name}.ext",
        cwd=cwd,
    )  # fmt: skip


def make_certs(directory: Path) -> Certs:
    directory.mkdir(parents=True, exist_ok=True)
    _ca("ca", directory)
    _ca("stranger", directory)
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    _signed("server", "/O=respcache tests/CN=server", san, directory)
    _signed("other", "/O=respcache tests/CN=other", san, directory)
    _signed("client", "/O=respcache tests/CN=client", "extendedKeyUsage=clientAuth\n", directory)
    _openssl(
        "pkcs8", "-topk8", "-in", "server.key", "-out", "server-encrypted.key",
        "-passout", f"pass:{KEY_PASSPHRASE}", cwd=directory,
    )  # fmt: skip
    ca_dir = directory / "cadir"
    ca_dir.mkdir(exist_ok=True)
    shutil.copy(directory / "ca.crt", ca_dir / "ca.crt")
    _openssl("rehash", str(ca_dir), cwd=directory)
    d = directory
    return Certs(
        d, d / "ca.crt", d / "ca.key", d / "server.crt", d / "server.key",
        d / "server-encrypted.key", d / "other.crt", d / "other.key", d / "client.crt",
        d / "client.key", d / "stranger.crt", ca_dir,
    )  # fmt: skip


def tls_context(certs: Certs, client_cert: bool = False) -> ssl.SSLContext:
    """A client context trusting the test CA (host names are checked: 127.0.0.1 is in the SAN)."""
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    if client_cert:
        ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    return ctx


@contextmanager
def tls_connection(
    port: int, ctx: ssl.SSLContext, host: str = "127.0.0.1", timeout: float = 5.0
) -> Iterator[ssl.SSLSocket]:
    """A TLS socket to ``host:port`` (the TCP socket is closed if the handshake fails)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        sock = ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise
    with sock:
        yield sock


def server_options(certs: Certs, tls_port: int, **extra: object) -> dict[str, object]:
    """The settings of a TLS server with the test certificates (no client certificates asked)."""
    return {
        "tls_port": tls_port,
        "tls_cert_file": str(certs.server_cert),
        "tls_key_file": str(certs.server_key),
        "tls_ca_cert_file": str(certs.ca),
        "tls_auth_clients": "no",
        **extra,
    }


class TlsServerProcess(ServerProcess):
    """A server whose ``port`` is its TLS port: readiness is a PING over TLS."""

    def __init__(self, *args: object, context: ssl.SSLContext, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.context = context

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"{self.name} exited\n--- log ---\n{self.log_text()}")
            try:
                with tls_connection(self.port, self.context, self.host, 2.0) as sock:
                    sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if sock.recv(64):
                        return
            except OSError as err:
                last = err
            time.sleep(0.05)
        raise ServerStartError(f"{self.name} not ready over TLS ({last!r})\n{self.log_text()}")

    def client(self, **kwargs: object) -> object:
        import redis

        kwargs.setdefault("socket_timeout", 10)
        kwargs.setdefault("ssl", True)
        if self.password and "password" not in kwargs:
            kwargs["password"] = self.password
        return redis.Redis(host=self.host, port=self.port, **kwargs)  # type: ignore[arg-type]


def start_tls_only(
    certs: Certs, base: Path, started: list[ServerProcess], **options: object
) -> TlsServerProcess:
    """A respcache server with ``port 0``: reachable over TLS only."""
    tls_port = free_port()
    opts = {"bind": "127.0.0.1", "save": "", "loglevel": "notice", "port": 0}
    opts |= server_options(certs, tls_port, **options)
    argv = respcache_command() + options_to_args(opts)
    wd = _workdir(base, "tls-")
    ctx = tls_context(certs, client_cert=True)
    server = TlsServerProcess("respcache", argv, tls_port, wd, context=ctx)
    started.append(server)
    server.start()
    return server
