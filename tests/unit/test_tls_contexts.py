"""The TLS contexts built from the tls-* settings (respcache/server/tls.py), without sockets."""

from __future__ import annotations

import logging
import ssl
import subprocess
from pathlib import Path

import pytest
from support.tls import KEY_PASSPHRASE, Certs, have_openssl, make_certs

from respcache.config import Config
from respcache.errors import ConfigError
from respcache.server.tls import (
    TLS_UPDATE_ERROR,
    ReloadableContext,
    TlsContexts,
    TlsError,
    _libssl,
    parse_protocols,
)

pytestmark = pytest.mark.skipif(not have_openssl(), reason="needs the openssl command line")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("unitcerts"))


def config(certs: Certs, **overrides: object) -> Config:
    settings: dict[str, object] = {
        "tls_port": 6380,
        "tls_cert_file": str(certs.server_cert),
        "tls_key_file": str(certs.server_key),
        "tls_ca_cert_file": str(certs.ca),
    }
    return Config(**(settings | overrides))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)),
        ("TLSv1.3", (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)),
        ("tlsv1.2", (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)),
        ("TLSv1 TLSv1.1", (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)),
    ],
)
def test_tls_protocols(text: str, expected: tuple[ssl.TLSVersion, ssl.TLSVersion]) -> None:
    assert parse_protocols(text) == expected


def test_invalid_tls_protocols_are_logged_as_redis_does(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(TlsError):
        parse_protocols("TLSv1.2 SSLv3")
    assert caplog.messages == [
        "Invalid tls-protocols specified. "
        "Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
    ]


def test_defaults_are_redis_7_0_s() -> None:
    cfg = Config()
    assert (cfg.tls_port, cfg.tls_auth_clients, cfg.tls_replication) == (0, "yes", False)
    assert (cfg.tls_session_caching, cfg.tls_session_cache_size) == (True, 20480)
    assert (cfg.tls_session_cache_timeout, cfg.tls_prefer_server_ciphers) == (300, False)
    assert not TlsContexts(cfg).wanted


def test_server_and_client_contexts(certs: Certs) -> None:
    tls = TlsContexts(config(certs))
    tls.configure()
    assert tls.server is not None and tls.client is not None
    assert tls.listening.current is tls.server
    assert tls.server.verify_mode == ssl.CERT_REQUIRED  # tls-auth-clients yes
    assert not tls.server.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert tls.client.verify_mode == ssl.CERT_REQUIRED and not tls.client.check_hostname
    assert tls.outgoing() is None  # tls-replication no
    tls.config.set("tls-replication", "yes")
    assert tls.outgoing() is tls.client


@pytest.mark.parametrize(
    ("value", "mode"), [("no", ssl.CERT_NONE), ("optional", ssl.CERT_OPTIONAL)]
)
def test_tls_auth_clients_is_the_verify_mode(certs: Certs, value: str, mode: int) -> None:
    tls = TlsContexts(config(certs))
    tls.configure()
    tls.wire()
    tls.config.set("tls-auth-clients", value)
    assert tls.server is not None and tls.server.verify_mode == mode


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tls_cert_file": ""}, "No tls-cert-file configured!"),
        ({"tls_key_file": ""}, "No tls-key-file configured!"),
        (
            {"tls_ca_cert_file": ""},
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
            "tls-replication or tls-auth-clients are enabled!",
        ),
        ({"tls_ciphers": "NOPE"}, "Failed to configure ciphers: NOPE"),
        ({"tls_ciphersuites": "NOPE"}, "Failed to configure ciphersuites: NOPE"),
    ],
)
def test_configuration_errors_are_logged_with_redis_s_texts(
    certs: Certs, overrides: dict[str, object], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    tls = TlsContexts(config(certs, **overrides))
    with caplog.at_level(logging.WARNING), pytest.raises(TlsError):
        tls.configure()
    assert message in caplog.messages


def test_a_failed_reload_keeps_the_old_context(certs: Certs) -> None:
    cfg = config(certs)
    tls = TlsContexts(cfg)
    tls.configure()
    tls.wire()
    before = tls.server
    with pytest.raises(ConfigError) as info:
        cfg.set("tls-key-file", str(certs.other_key))  # does not fit the certificate
    assert str(info.value) == (
        f"ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - {TLS_UPDATE_ERROR}"
    )
    # The old values are back (CONFIG SET's undo re-applies them, as Redis's restore does).
    assert cfg.tls_key_file == str(certs.server_key)
    assert tls.server is not None and tls.listening.current is tls.server
    before = tls.server
    cfg.set_many([("tls-cert-file", str(certs.other_cert)), ("tls-key-file", str(certs.other_key))])
    assert tls.server is not before and tls.listening.current is tls.server


def test_encrypted_key_needs_its_passphrase(certs: Certs) -> None:
    encrypted = str(certs.server_key_encrypted)
    with pytest.raises(TlsError):
        TlsContexts(config(certs, tls_key_file=encrypted)).configure()
    TlsContexts(config(certs, tls_key_file=encrypted, tls_key_file_pass=KEY_PASSPHRASE)).configure()


def test_client_certificate_for_outgoing_links(certs: Certs) -> None:
    # A client certificate pair of its own; without one the server's (Redis does the same).
    tls = TlsContexts(
        config(
            certs,
            tls_client_cert_file=str(certs.client_cert),
            tls_client_key_file=str(certs.client_key),
        )
    )
    tls.configure()
    bad = TlsContexts(
        config(certs, tls_client_cert_file=str(certs.client_cert), tls_client_key_file="/nope")
    )
    with pytest.raises(TlsError):
        bad.configure()


@pytest.mark.skipif(_libssl() is None, reason="libssl not reachable through ctypes")
def test_ciphersuites_and_session_cache_reach_openssl(certs: Certs) -> None:
    tls = TlsContexts(
        config(certs, tls_ciphersuites="TLS_AES_256_GCM_SHA384", tls_session_caching="no")
    )
    tls.configure()
    assert tls.server is not None
    tls13 = [c["name"] for c in tls.server.get_ciphers() if c["protocol"] == "TLSv1.3"]
    assert tls13 == ["TLS_AES_256_GCM_SHA384"]


def test_dh_params_file(certs: Certs, tmp_path: Path) -> None:
    dh = tmp_path / "dh.pem"
    subprocess.run(
        ["openssl", "dhparam", "-dsaparam", "-out", str(dh), "2048"],
        check=True,
        capture_output=True,
    )
    TlsContexts(config(certs, tls_dh_params_file=str(dh))).configure()
    with pytest.raises(TlsError):
        TlsContexts(config(certs, tls_dh_params_file=str(certs.ca))).configure()


def test_reloadable_context_wraps_with_the_current_one(certs: Certs) -> None:
    switch = ReloadableContext(ssl.PROTOCOL_TLS_SERVER)
    inner = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    inner.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    switch.current = inner
    wrapped = switch.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
    assert wrapped.context is inner


def test_the_tls_block_is_in_the_shipped_config() -> None:
    text = (Path(__file__).parents[2] / "conf" / "respcache.conf").read_text()
    for name in ("tls-port 0", "tls-auth-clients yes", "zk-tls no", "tls-http yes"):
        assert f"\n{name}\n" in text
