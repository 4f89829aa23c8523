# SPDX-License-Identifier: Apache-2.0
"""Pure helpers for the FHIR REST wire format: ETags, references, parsing, error mapping.

FHIR R4 RESTful API, https://hl7.org/fhir/R4/http.html.  Bodies are parsed with
``fhir.resources.R4B``; non-2xx answers become the typed errors of :mod:`smart_launch.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from . import errors
from .errors import FhirConflict
from .errors import FhirError
from .errors import FhirValidationError

__all__ = [
    "FHIR_JSON",
    "error_for_status",
    "etag_version",
    "if_match_value",
    "is_under_base",
    "parse_reference",
    "parse_resource",
    "valid_id",
    "valid_type",
]

FHIR_JSON = "application/fhir+json"
_TYPE_RE = re.compile(r"[A-Z][A-Za-z]+")
_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_MAX_DIAGNOSTICS = 400
_ERRORS: dict[int, type[FhirError]] = {
    400: FhirValidationError,
    401: errors.FhirUnauthorized,
    403: errors.FhirUnauthorized,
    404: errors.FhirNotFound,
    409: FhirConflict,
    410: errors.FhirGone,
    412: errors.FhirPreconditionFailed,
    422: FhirValidationError,
    428: FhirConflict,
}


def valid_type(resource_type: str) -> bool:
    """True for a syntactically valid resource type name."""
    return bool(_TYPE_RE.fullmatch(resource_type))


def valid_id(resource_id: str) -> bool:
    """True for a syntactically valid logical id."""
    return bool(_ID_RE.fullmatch(resource_id))


def etag_version(etag: str | None) -> str | None:
    """The version inside an ETag: ``W/"3"``, ``w/"3"``, ``"3"`` and ``3`` all give ``3``.

    :param etag: the raw header value, or None.
    """
    value = (etag or "").strip()
    if value[:2].upper() == "W/":
        value = value[2:].strip()
    return value.strip('"').strip() or None


def if_match_value(etag_or_version: str) -> str:
    value = etag_or_version.strip()
    if not etag_version(value):
        raise ValueError("If-Match needs the version from a prior read.")
    return value if value[:2].upper() == "W/" or value.startswith('"') else f'W/"{value}"'


def is_under_base(url: str, base_url: str) -> bool:
    """True when ``url`` has the origin of ``base_url`` and lies inside its path.

    :param url: an absolute URL, for example a paging link or a ``Location`` header.
    :param base_url: the FHIR base the client is bound to.
    """
    target, base = urlsplit(url), urlsplit(base_url)
    try:
        ports = [p.port or {"http": 80, "https": 443}.get(p.scheme.lower()) for p in (target, base)]
    except ValueError:
        return False
    if target.scheme.lower() != base.scheme.lower() or target.username or target.password:
        return False
    if (target.hostname or "").lower() != (base.hostname or "").lower() or ports[0] != ports[1]:
        return False
    if any(part in {".", ".."} for part in unquote(target.path).split("/")):
        return False
    prefix = base.path.rstrip("/")
    return target.path == prefix or target.path.startswith(prefix + "/")


def parse_reference(reference: str, base_url: str) -> tuple[str, str] | None:
    """``(type, id)`` of a literal reference on this server: ``Patient/1``, ``{base}/Patient/1``
    and ``{base}/Patient/1/_history/2`` all give ``("Patient", "1")``; contained (``#``),
    ``urn:`` and foreign references give None.

    :param reference: ``Reference.reference``, a ``Location`` header or a ``fullUrl``.
    :param base_url: the FHIR base the client is bound to.
    """
    if not reference or reference.startswith(("#", "urn:")):
        return None
    base = base_url.rstrip("/")
    absolute = urljoin(base + "/", reference)
    if not is_under_base(absolute, base):
        return None
    path = urlsplit(absolute).path[len(urlsplit(base).path.rstrip("/")) :]
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) == 4 and segments[2] == "_history":
        segments = segments[:2]
    if (
        len(segments) != 2
        or not _TYPE_RE.fullmatch(segments[0])
        or not _ID_RE.fullmatch(segments[1])
    ):
        return None
    return segments[0], segments[1]


def parse_resource(data: object, expected_type: str | None = None) -> Resource:
    """Parse decoded FHIR JSON into a ``fhir.resources.R4B`` model.

    :param data: the decoded JSON body.
    :param expected_type: the ``resourceType`` the caller asked for, if any.
    :raises FhirValidationError: when ``data`` is not a valid resource of ``expected_type``.
    """
    resource_type = data.get("resourceType") if isinstance(data, dict) else None
    if not isinstance(resource_type, str) or not _TYPE_RE.fullmatch(resource_type):
        raise FhirValidationError("The EHR answered with JSON that is not a FHIR resource.")
    if expected_type is not None and resource_type != expected_type:
        raise FhirValidationError(
            f"The EHR answered with a {resource_type} where a {expected_type} was expected."
        )
    try:
        model = get_fhir_model_class(resource_type)
    except ValueError:
        model = None
    if model is None or not issubclass(model, Resource):
        raise FhirValidationError(f"The EHR sent '{resource_type}', which is not a FHIR resource.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join([resource_type, *(str(p) for p in err['loc'])])}: {err['msg']}"
            for err in exc.errors()[:5]
        )
    except (TypeError, ValueError) as exc:
        problems = str(exc)
    raise FhirValidationError(
        f"The EHR sent a {resource_type} that is not valid FHIR ({problems})."
    )


def _diagnostics(outcome: Mapping[str, Any] | None, secret: str | None) -> str:
    texts: list[str] = []
    for issue in (outcome or {}).get("issue") or []:
        details = issue.get("details") if isinstance(issue, dict) else None
        text = issue.get("diagnostics") if isinstance(issue, dict) else None
        text = text or (details.get("text") if isinstance(details, dict) else None)
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
    joined = "; ".join(texts)
    if secret:  # redact before shortening, so no prefix of the secret survives
        joined = joined.replace(secret, "[redacted]")
    return joined if len(joined) <= _MAX_DIAGNOSTICS else joined[: _MAX_DIAGNOSTICS - 1] + "…"


def error_for_status(
    status: int, outcome: Mapping[str, Any] | None = None, *, secret: str | None = None
) -> FhirError:
    """The typed error for a non-2xx FHIR answer; its description carries the diagnostics.

    :param status: the HTTP status code.
    :param outcome: the OperationOutcome the server sent, if any.
    :param secret: a value (the bearer token) that must never appear in the description.
    """
    cls = _ERRORS.get(status, errors.FhirServerError if status >= 500 else FhirError)
    description = f"{cls.description} (HTTP {status})"
    said = _diagnostics(outcome, secret)
    if said:
        description = f"{description} The EHR said: {said}"
    return cls(description, http_status=status, outcome=dict(outcome) if outcome else None)
