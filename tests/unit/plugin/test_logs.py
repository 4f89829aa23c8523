# SPDX-License-Identifier: Apache-2.0
"""The last-line log filter masks anything token-shaped and leaves other text alone."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from plugin.logs import RedactingFilter
from plugin.logs import RedactingFormatter
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


def _fail(message: str) -> None:
    raise ValueError(message)


def _raise_with_tokens() -> None:
    """Raise the way ``requests`` does: the URL with its query string is in the message."""
    url = "https://ehr.example/callback?code=AUTHCODE42&state=STATE99"
    try:
        _fail(f"401 for url: {url} (Authorization: Bearer opaqueBearer7)")
    except ValueError as exc:
        msg = f"token exchange failed, id_token {JWT}, CANARY-free-text"
        raise RuntimeError(msg) from exc


def test_tracebacks_on_configured_handlers_are_redacted() -> None:
    """``log.exception`` output (the traceback text and stack) goes through the redaction.

    Redaction masks token-shaped values only: free text such as the canary is not recognised,
    which is why nothing about a client may be put into a log message or an exception at all.
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    stream = io.StringIO()
    root.handlers = [logging.StreamHandler(stream)]
    try:
        configure_logging("INFO")
        try:
            _raise_with_tokens()
        except RuntimeError:
            logging.getLogger("quietline.test").exception("callback failed")
        logging.getLogger("quietline.test").info("here", stack_info=True, extra={})
    finally:
        root.handlers = saved

    output = stream.getvalue()
    assert "callback failed" in output
    assert "Traceback (most recent call last)" in output
    assert "CANARY-free-text" in output  # free text is not token-shaped; it must not be logged
    for secret in (
        "AUTHCODE42",
        "STATE99",
        "opaqueBearer7",
        JWT,
        "c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU",
    ):
        assert secret not in output
    assert "code=[redacted]" in output
    assert "Bearer [redacted]" in output


def test_the_redacting_formatter_masks_exc_text_and_stack_info() -> None:
    try:
        _raise_with_tokens()
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "quietline.test", logging.ERROR, __file__, 1, "failed", (), exc_info, sinfo=f"at {JWT}"
    )

    output = RedactingFormatter("%(levelname)s %(message)s").format(record)

    assert output.startswith("ERROR failed")
    assert "AUTHCODE42" not in output
    assert "opaqueBearer7" not in output
    assert JWT not in output
    assert "at [redacted]" in output
