"""TLS contexts built from the ``tls-*`` settings, as Redis 7.0's ``src/tls.c`` builds them.

``tlsConfigure`` makes two OpenSSL contexts: the server's (for ``tls-port`` and, here,
the HTTPS endpoint) and a client one for outgoing links (follower to leader, command
forwarding), which presents ``tls-client-cert-file`` or else the server's certificate
and verifies the peer against ``tls-ca-cert-file``/``-dir`` without a host name check
(Redis 7.0 checks none). Reconfiguring is atomic: both contexts are built first and
swapped only if both succeed; a failure leaves the old ones in place, and ``CONFIG SET``
answers ``Unable to update TLS configuration. Check server logs.``

Listeners are created once with a :class:`ReloadableContext`: asyncio (and uvloop)
call ``wrap_bio`` on it for every accepted connection, and it hands that to the
*current* context, so a reloaded certificate serves new connections while open ones
keep theirs. The accepted connection is then an ordinary asyncio transport: the RESP
protocol object and its replies are the same as over plain TCP.

Two knobs Python's :mod:`ssl` does not expose, ``SSL_CTX_set_ciphersuites`` (TLS 1.3)
and the server session cache (mode, size, timeout), are set on the context's
``SSL_CTX`` through :mod:`ctypes` from the libssl the interpreter already loaded
(:func:`_libssl`); where that is impossible the setting is refused rather than ignored.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import ssl
from typing import TYPE_CHECKING, Any

from respcache.errors import ConfigError

if TYPE_CHECKING:
    from respcache.config import Config

log = logging.getLogger("respcache.tls")

__all__ = [
    "RELOAD_SETTINGS",
    "TLS_UPDATE_ERROR",
    "ReloadableContext",
    "TlsContexts",
    "TlsError",
    "parse_protocols",
]

TLS_UPDATE_ERROR = "Unable to update TLS configuration. Check server logs."

RELOAD_SETTINGS = (
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-replication",
    "tls-cluster",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
)
"""Settings whose CONFIG SET rebuilds the contexts (Redis's ``applyTlsCfg``)."""

_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
_AUTH_CLIENTS = {"no": ssl.CERT_NONE, "yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL}


class TlsError(Exception):
    """The TLS configuration cannot be applied; the reason was logged (as Redis does)."""


def parse_protocols(text: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """``tls-protocols`` as (lowest, highest) version; empty is TLSv1.2 to TLSv1.3.

    Redis enables each named version; OpenSSL's version range cannot leave a hole, so
    ``TLSv1 TLSv1.3`` allows the versions between as well.
    """
    if not text:
        return ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    versions = []
    for word in text.split(" "):
        version = _VERSIONS.get(word.lower())
        if version is None:
            log.warning(
                "Invalid tls-protocols specified. "
                "Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
            )
            raise TlsError("tls-protocols")
        versions.append(version)
    return min(versions), max(versions)


class ReloadableContext(ssl.SSLContext):
    """Given to ``create_server`` once; every connection is wrapped by ``current``."""

    current: ssl.SSLContext

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return self.current.wrap_bio(incoming, outgoing, server_side, server_hostname, session)


class TlsContexts:
    """The server and client contexts of one node, rebuilt when the settings change."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server: ssl.SSLContext | None = None
        self.client: ssl.SSLContext | None = None
        self.listening = ReloadableContext(ssl.PROTOCOL_TLS_SERVER)
        """The context listeners are created with; it follows :attr:`server`."""
        self.reloads = 0

    @property
    def wanted(self) -> bool:
        """TLS is in use (``tls-port``, ``tls-replication`` or ``tls-cluster``)."""
        cfg = self.config
        return bool(cfg.tls_port or cfg.tls_replication or cfg.tls_cluster)

    @property
    def configured(self) -> bool:
        return self.server is not None

    def configure(self) -> None:
        """Build both contexts from the settings and swap them in (all or nothing)."""
        cfg = self.config
        if not cfg.tls_cert_file:
            log.warning("No tls-cert-file configured!")
            raise TlsError("tls-cert-file")
        if not cfg.tls_key_file:
            log.warning("No tls-key-file configured!")
            raise TlsError("tls-key-file")
        if (cfg.tls_auth_clients != "no" or cfg.tls_replication or cfg.tls_cluster) and not (
            cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir
        ):
            log.warning(
                "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                "tls-cluster, tls-replication or tls-auth-clients are enabled!"
            )
            raise TlsError("tls-ca-cert-file")
        server = self._server_context()
        client = self._client_context()
        self.server, self.client = server, client
        self.listening.current = server
        if self.reloads:
            log.info("TLS configuration reloaded")
        self.reloads += 1

    def reconfigure(self, _value: object = None) -> None:
        """A ``CONFIG SET`` callback: rebuild if TLS is in use; refuse the change if it fails."""
        if not self.wanted and not self.configured:
            return
        try:
            self.configure()
        except TlsError:
            raise ConfigError(TLS_UPDATE_ERROR) from None

    def ensure(self) -> None:
        """Configure unless already configured (``tls-port`` set at run time)."""
        if not self.configured:
            try:
                self.configure()
            except TlsError:
                raise ConfigError(TLS_UPDATE_ERROR) from None

    def outgoing(self) -> ssl.SSLContext | None:
        """The context of node-to-node links when ``tls-replication`` is on, else None."""
        return self.client if self.config.tls_replication else None

    def wire(self) -> None:
        """Rebuild on CONFIG SET of any TLS setting (see :data:`RELOAD_SETTINGS`)."""
        for name in RELOAD_SETTINGS:
            self.config.on_change(name, self.reconfigure)

    # --- building -----------------------------------------------------------------------

    def _common(self, ctx: ssl.SSLContext, cert: str, key: str, password: str) -> None:
        cfg = self.config
        lowest, highest = parse_protocols(cfg.tls_protocols)
        try:
            ctx.minimum_version = lowest
            ctx.maximum_version = highest
        except ValueError as err:
            log.warning("Failed to configure tls-protocols: %s", err)
            raise TlsError("tls-protocols") from None
        ctx.options |= ssl.OP_NO_COMPRESSION
        try:
            ctx.load_cert_chain(cert, key or None, password=lambda: password)
        except (OSError, ssl.SSLError) as err:
            log.warning("Failed to load certificate: %s: %s", cert, _reason(err))
            raise TlsError("cert") from None
        if cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir:
            try:
                ctx.load_verify_locations(cfg.tls_ca_cert_file or None, cfg.tls_ca_cert_dir or None)
            except (OSError, ssl.SSLError) as err:
                log.warning(
                    "Failed to configure CA certificate(s) file/directory: %s", _reason(err)
                )
                raise TlsError("ca") from None
        try:
            ctx.set_ciphers(cfg.tls_ciphers or "DEFAULT")
        except ssl.SSLError:
            log.warning("Failed to configure ciphers: %s", cfg.tls_ciphers)
            raise TlsError("tls-ciphers") from None
        if cfg.tls_ciphersuites and not _set_ciphersuites(ctx, cfg.tls_ciphersuites):
            log.warning("Failed to configure ciphersuites: %s", cfg.tls_ciphersuites)
            raise TlsError("tls-ciphersuites")

    def _server_context(self) -> ssl.SSLContext:
        cfg = self.config
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._common(ctx, cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_key_file_pass)
        ctx.verify_mode = _AUTH_CLIENTS[cfg.tls_auth_clients]
        ctx.options |= ssl.OP_NO_RENEGOTIATION
        if cfg.tls_prefer_server_ciphers:
            ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
        else:  # Python sets it by default; Redis does not
            ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        if cfg.tls_dh_params_file:
            try:
                ctx.load_dh_params(cfg.tls_dh_params_file)
            except (OSError, ssl.SSLError) as err:
                log.warning(
                    "Failed to load DH params file: %s: %s", cfg.tls_dh_params_file, _reason(err)
                )
                raise TlsError("tls-dh-params-file") from None
        if cfg.tls_session_caching:
            ok = _session_cache(
                ctx, _SESS_CACHE_SERVER, cfg.tls_session_cache_size, cfg.tls_session_cache_timeout
            )
        else:
            ok = _session_cache(ctx, _SESS_CACHE_OFF, None, None)
        if not ok:
            log.warning("Failed to configure the TLS session cache (libssl not reachable)")
            raise TlsError("tls-session-caching")
        return ctx

    def _client_context(self) -> ssl.SSLContext:
        cfg = self.config
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # Redis 7.0 verifies the chain, not the host name
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cfg.tls_client_cert_file and cfg.tls_client_key_file:
            cert, key = cfg.tls_client_cert_file, cfg.tls_client_key_file
            password = cfg.tls_client_key_file_pass
        else:
            cert, key, password = cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_key_file_pass
        self._common(ctx, cert, key, password)
        return ctx


def _reason(err: BaseException) -> str:
    if isinstance(err, ssl.SSLError):
        return err.reason or str(err)
    return getattr(err, "strerror", None) or str(err)


# --- libssl through ctypes: what Python's ssl module does not expose -------------------------

_SESS_CACHE_OFF = 0
_SESS_CACHE_SERVER = 2
_CTRL_SET_SESS_CACHE_SIZE = 42
_CTRL_SET_SESS_CACHE_MODE = 44

_LIB: list[Any] = []


def _libssl() -> Any:
    """The libssl the ``_ssl`` module uses (already loaded: dlopen returns the same copy)."""
    if _LIB:
        return _LIB[0]
    lib: Any = None
    path = None
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.rsplit(" ", 1)[-1].strip()
                if "/libssl.so" in name:
                    path = name
                    break
    except OSError:
        pass
    path = path or ctypes.util.find_library("ssl")
    if path:
        try:
            lib = ctypes.CDLL(path)
            lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
            lib.SSL_CTX_ctrl.argtypes = [
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_long,
                ctypes.c_void_p,
            ]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
            lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
            lib.SSL_CTX_set_timeout.restype = ctypes.c_long
            lib.OpenSSL_version_num.restype = ctypes.c_ulong
            if lib.OpenSSL_version_num() != ssl.OPENSSL_VERSION_NUMBER:
                lib = None  # another copy than _ssl's: its SSL_CTX would not be ours
        except (OSError, AttributeError):
            lib = None
    _LIB.append(lib)
    return lib


def _ssl_ctx(ctx: ssl.SSLContext) -> int | None:
    """The ``SSL_CTX *`` of a context: CPython's ``PySSLContext`` starts with it."""
    return ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value


def _set_ciphersuites(ctx: ssl.SSLContext, suites: str) -> bool:
    lib = _libssl()
    pointer = _ssl_ctx(ctx)
    if lib is None or not pointer:
        return False
    return bool(lib.SSL_CTX_set_ciphersuites(pointer, suites.encode()))


def _session_cache(ctx: ssl.SSLContext, mode: int, size: int | None, timeout: int | None) -> bool:
    lib = _libssl()
    pointer = _ssl_ctx(ctx)
    if lib is None or not pointer:
        return mode == _SESS_CACHE_SERVER and size == 20480 and timeout == 300  # OpenSSL's own
    lib.SSL_CTX_ctrl(pointer, _CTRL_SET_SESS_CACHE_MODE, mode, None)
    if size is not None:
        lib.SSL_CTX_ctrl(pointer, _CTRL_SET_SESS_CACHE_SIZE, size, None)
    if timeout is not None:
        lib.SSL_CTX_set_timeout(pointer, timeout)
    return True
