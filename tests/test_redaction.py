"""Secrets stay out of messages and reprs: ``errors.redact``, ``register_secret``, UrlServer."""

from __future__ import annotations

import uuid

import pytest

from pytest_influxperf.client import InfluxClient, WriteTarget
from pytest_influxperf.errors import AuthError, InfluxPerfError, redact, register_secret
from pytest_influxperf.servers.url import UrlServer


def fresh_secret() -> str:
    """A secret no other test registered (the registry is process-wide)."""
    return f"sekrit-{uuid.uuid4().hex}"


def test_registered_secret_is_masked_everywhere_in_the_text():
    secret = fresh_secret()
    register_secret(secret)
    assert redact(f"a {secret} b {secret}") == "a *** b ***"


def test_longer_secret_is_masked_before_its_prefix():
    long = fresh_secret()
    register_secret(long[:12])
    register_secret(long)
    assert redact(f"[{long}]") == "[***]"


@pytest.mark.parametrize("secret", [None, "", "abc"])
def test_empty_or_short_secrets_are_not_registered(secret):
    """Masking a 3-character secret would mangle ordinary words; such input is ignored."""
    register_secret(secret)
    assert redact("abc abcdef") == "abc abcdef"


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "Basic", "token"])
def test_authorization_header_values_are_masked_without_registration(scheme):
    secret = fresh_secret()
    assert redact(f"headers: Authorization: {scheme} {secret} ok") == \
        f"headers: Authorization: {scheme} *** ok"


def test_password_and_token_query_parameters_are_masked():
    text = redact("GET http://127.0.0.1:8086/query?db=bench&u=admin&p=pw-123&token=tk-9 failed")
    assert text == "GET http://127.0.0.1:8086/query?db=bench&u=admin&p=***&token=*** failed"


def test_non_string_input_is_stringified():
    assert redact(12345) == "12345"


def test_errors_redact_message_and_log_tail():
    secret = fresh_secret()
    register_secret(secret)
    exc = AuthError(f"server said: bad token {secret}", log_tail=f"log: auth {secret} refused\n")
    assert secret not in str(exc)
    assert "bad token ***" in str(exc) and "log: auth *** refused" in str(exc)
    assert exc.log_tail is not None  # the raw tail stays available to code, not to output
    assert isinstance(exc, InfluxPerfError)


def test_url_server_keeps_the_token_out_of_repr_and_environment():
    secret = fresh_secret()
    server = UrlServer("http://127.0.0.1:9/", token=secret, org="perf-org")
    assert server.url == "http://127.0.0.1:9"
    for text in (repr(server), server.describe(), str(server.environment())):
        assert secret not in text
    assert "127.0.0.1:9" in repr(server)


def test_url_server_registers_its_token_for_every_later_message():
    secret = fresh_secret()
    UrlServer("http://127.0.0.1:9", token=secret)
    assert redact(f"echo {secret}") == "echo ***"


def test_url_server_client_and_write_target_reprs_hide_the_token():
    secret = fresh_secret()
    server = UrlServer("http://127.0.0.1:9", token=secret, org="perf-org")
    server.api = "v3"
    client = server.client()
    try:
        target = client.write_target("bench")
        assert target.headers["Authorization"] == f"Bearer {secret}"  # the value is there...
        for text in (repr(client), repr(target)):
            assert secret not in text  # ...but never shown
    finally:
        server.stop()


def test_write_target_repr_masks_a_registered_password_parameter():
    """Params print as a dict, which the ``p=`` URL pattern cannot see: only registration
    (which every client and server does with its token) keeps the value out."""
    secret = fresh_secret()
    register_secret(secret)
    target = WriteTarget("http://127.0.0.1:9/write", {"db": "bench", "p": secret},
                         {"Authorization": f"Token {secret}"})
    assert secret not in repr(target)


def test_url_server_refuses_a_url_without_scheme():
    with pytest.raises(ValueError, match="http://"):
        UrlServer("127.0.0.1:8086")


def test_client_registers_its_token():
    secret = fresh_secret()
    InfluxClient("http://127.0.0.1:9", api="v2", token=secret).close()
    assert redact(secret) == "***"
