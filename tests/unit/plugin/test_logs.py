# SPDX-License-Identifier: Apache-2.0
"""The last-line log filter masks anything token-shaped and leaves other text alone."""

from __future__ import annotations

import logging

import pytest

from plugin.logs import RedactingFilter
from plugin.logs import configure_logging

JWT = (
    "eyJhbGciOiJSUzM4NCIsImtpZCI6ImsxIn0"
    ".eyJzdWIiOiJQcmFjdGl0aW9uZXIvNyIsImV4cCI6MTcwMDAwMDAwMH0"
    ".c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU"
)


def _filtered(msg: str, *args: object) -> str:
    record = logging.LogRecord("quietline.test", logging.INFO, __file__, 1, msg, args, None)
    assert RedactingFilter().filter(record) is True
    return record.getMessage()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer opaque-token.value_1~2+3/4==", "opaque-token.value_1~2+3/4"),
        ("authorization: bearer abc123DEF", "abc123DEF"),
        ("GET /callback?code=AUTHCODE42&state=STATE99 HTTP/1.1", "AUTHCODE42"),
        ("GET /callback?code=AUTHCODE42&state=STATE99 HTTP/1.1", "STATE99"),
        ("GET /launch?iss=https://ehr/fhir&launch=LAUNCHID7", "LAUNCHID7"),
        ('{"access_token": "opaqueAccess1", "token_type": "Bearer"}', "opaqueAccess1"),
        ('{"refresh_token":"opaqueRefresh2","expires_in":300}', "opaqueRefresh2"),
        ("{'id_token': 'opaqueId3', 'scope': 'openid'}", "opaqueId3"),
        ("client_secret=hunter2hunter2&grant_type=refresh_token", "hunter2hunter2"),
        ("code_verifier=verifier-abcdefghijklmnopqrstuvwxyz", "verifier-abcdefghijklmnop"),
        ("ACCESS_TOKEN = 'upperCaseToken'", "upperCaseToken"),
        (f"token was {JWT} for this launch", JWT),
        (f"id_token={JWT}", "c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU"),
    ],
)
def test_token_shaped_values_are_masked(text: str, secret: str) -> None:
    cleaned = _filtered(text)

    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_the_key_and_the_shape_of_the_line_are_kept() -> None:
    assert (
        _filtered("GET /callback?code=AUTHCODE42&state=STATE99 HTTP/1.1")
        == "GET /callback?code=[redacted]&state=[redacted] HTTP/1.1"
    )
    assert _filtered("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"
    assert _filtered(f"jwt {JWT} end") == "jwt [redacted] end"


def test_arguments_are_redacted_after_formatting() -> None:
    record = logging.LogRecord(
        "quietline.test", logging.INFO, __file__, 1, "sent %s to %s", ("Bearer abc123", "ehr"), None
    )

    RedactingFilter().filter(record)

    assert record.getMessage() == "sent Bearer [redacted] to ehr"
    assert record.args == ()


def test_access_token_inside_an_escaped_json_string_is_masked() -> None:
    # A JSON body logged inside another JSON document (structured logs, exception reprs).
    cleaned = _filtered('{"body": "{\\"access_token\\": \\"opaqueAccess1\\"}"}')

    assert "opaqueAccess1" not in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "GET /healthz 200",
        "launch refused: issuer_not_allowed",
        "request refused: session_expired",
        "readiness: database unavailable (OperationalError)",
        "token refresh refused (invalid_grant); launch ended",
        "database is at the newest revision",
        "Quietline on http://127.0.0.1:8701/",
        "The state of the art is fine; code review passed.",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    record = logging.LogRecord("quietline.test", logging.INFO, __file__, 1, text, (), None)

    RedactingFilter().filter(record)

    assert record.msg == text
    assert record.getMessage() == text


def test_configure_logging_puts_the_filter_on_every_root_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("INFO")
    root = logging.getLogger()

    assert root.handlers
    for handler in root.handlers:
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)

    configure_logging("INFO")
    for handler in root.handlers:
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1

    logging.getLogger("quietline.test").info("callback with code=%s", "AUTHCODE42")
    assert "AUTHCODE42" not in caplog.text
    assert "code=[redacted]" in caplog.text
