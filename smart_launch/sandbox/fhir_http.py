# SPDX-License-Identifier: Apache-2.0
"""HTTP plumbing of the FHIR REST server: OperationOutcomes, headers and request bodies.

FHIR R4 "RESTful API" (https://hl7.org/fhir/R4/http.html): ``application/fhir+json``; ETag
``W/"<versionId>"``; ``Prefer: return=minimal|representation|OperationOutcome``;
``Prefer: handling=strict|lenient`` for searches; errors carry an OperationOutcome.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from flask import Response
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

__all__ = [
    "FHIR_JSON",
    "MAX_BODY_BYTES",
    "FhirHttpError",
    "etag",
    "fhir_response",
    "operation_outcome",
    "parse_if_match",
    "prefer",
    "read_json_body",
    "resource_headers",
]

FHIR_JSON = "application/fhir+json; charset=utf-8"
MAX_BODY_BYTES = 1024 * 1024
_ETAG = re.compile(r'^(?:W/)?"([^"]+)"$')
_JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})


class FhirHttpError(Exception):
    """An error answered with an OperationOutcome.

    :param code: the ``issue.code`` (e.g. ``not-found``, ``forbidden``, ``invalid``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        headers: dict[str, str] | None = None,
        expressions: list[str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.headers = headers or {}
        self.expressions = expressions or []

    def response(self) -> Response:
        """The OperationOutcome response for this error."""
        outcome = operation_outcome(
            "error" if self.status < 500 else "fatal",
            self.code,
            self.diagnostics,
            expressions=self.expressions,
        )
        return fhir_response(outcome, self.status, self.headers)


def operation_outcome(
    severity: str, code: str, diagnostics: str, *, expressions: list[str] | None = None
) -> dict[str, Any]:
    """An OperationOutcome with a single issue."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expressions:
        issue["expression"] = expressions
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def fhir_response(
    body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A response with the FHIR JSON media type (an empty body when ``body`` is ``None``)."""
    text = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(text, status=status, content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def etag(version: int) -> str:
    """``W/"<versionId>"``."""
    return f'W/"{version}"'


def resource_headers(version: int, last_updated: str) -> dict[str, str]:
    """``ETag`` and ``Last-Modified`` of one resource version."""
    modified = datetime.fromisoformat(last_updated)
    return {"ETag": etag(version), "Last-Modified": format_datetime(modified, usegmt=True)}


def parse_if_match() -> int | None:
    """The version named by ``If-Match``, or ``None`` when the header is absent.

    :raises FhirHttpError: 400 for a value that is not ``W/"<integer>"``.
    """
    value = request.headers.get("If-Match")
    if value is None:
        return None
    match = _ETAG.match(value.strip())
    if match is None or not match.group(1).isdigit():
        raise FhirHttpError(400, "invalid", f'If-Match must look like W/"1", got {value!r}.')
    return int(match.group(1))


def prefer(name: str) -> str | None:
    """The value of one ``Prefer`` preference (``return``, ``handling``), if given."""
    for part in request.headers.get("Prefer", "").split(";"):
        for item in part.split(","):
            key, _, value = item.strip().partition("=")
            if key.strip().lower() == name:
                return value.strip().strip('"')
    return None


def read_json_body() -> Any:
    """The request body parsed as JSON.

    :raises FhirHttpError: 413 over :data:`MAX_BODY_BYTES`, 415 for a non-JSON media type,
        400 for malformed JSON.
    """
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise FhirHttpError(413, "too-costly", "The request body is larger than 1 MiB.")
    media_type = (request.mimetype or "").lower()
    if media_type not in _JSON_TYPES:
        raise FhirHttpError(415, "not-supported", "Send resources as application/fhir+json.")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise FhirHttpError(413, "too-costly", "The request body is larger than 1 MiB.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise FhirHttpError(413, "too-costly", "The request body is larger than 1 MiB.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FhirHttpError(400, "structure", f"The body is not valid JSON: {exc}") from None
