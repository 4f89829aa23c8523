# SPDX-License-Identifier: Apache-2.0
"""A FHIR R4 REST client bound to one launch or one Backend Services client.

FHIR R4 RESTful API, https://hl7.org/fhir/R4/http.html: "The ETag header SHALL match the value of
the version id for the resource"; "If the version id given in the If-Match header does not match,
the server returns a 412 Precondition Failed"; conditional create with ``If-None-Exist``: "One
Match: The server ignores the post and returns 200 OK".  SMART App Launch 2.2
(https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html): the app "SHOULD NOT send its
access token to other servers", so paging links and ``Location`` headers are only followed under
the FHIR base.  Bodies are parsed with ``fhir.resources.R4B``; invalid ones raise
:class:`~smart_launch.errors.FhirValidationError` with a short, readable message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Generic
from typing import Protocol
from typing import TypeVar
from urllib.parse import urljoin

import requests
from fhir.resources.R4B.resource import Resource

from . import errors
from .errors import FhirConflict
from .errors import FhirValidationError
from .fhir_wire import FHIR_JSON
from .fhir_wire import error_for_status
from .fhir_wire import etag_version
from .fhir_wire import if_match_value
from .fhir_wire import is_under_base
from .fhir_wire import parse_reference
from .fhir_wire import parse_resource
from .fhir_wire import valid_id
from .fhir_wire import valid_type
from .http import make_session

__all__ = [
    "CreateResult",
    "FhirClient",
    "TokenSource",
    "Versioned",
    "error_for_status",
    "etag_version",
    "is_under_base",
    "parse_reference",
    "parse_resource",
]


ResourceT = TypeVar("ResourceT", bound=Resource)


class TokenSource(Protocol):
    """Anything that hands out a currently valid bearer token (it refreshes behind the scenes)."""

    def access_token(self) -> str:
        """Return a bearer access token that is valid now."""
        ...


@dataclass(frozen=True)
class Versioned(Generic[ResourceT]):
    """A resource with the version the server reported: ``etag`` is what ``If-Match`` needs."""

    resource: ResourceT
    version_id: str | None
    etag: str | None
    last_modified: datetime | None


@dataclass(frozen=True)
class CreateResult:
    """The answer to a (conditional) create: 201 when created, 200 when it already existed."""

    status: int
    versioned: Versioned[Resource]

    @property
    def created(self) -> bool:
        """True when the server created a new resource (201)."""
        return self.status == 201


def _versioned(resource: Resource, headers: Mapping[str, str]) -> Versioned[Resource]:
    etag = headers.get("ETag") or None
    version_id = etag_version(etag)
    meta = resource.meta
    if version_id is None and meta is not None and meta.versionId:
        version_id = str(meta.versionId)
        etag = f'W/"{version_id}"'
    modified = meta.lastUpdated if meta is not None else None
    with contextlib.suppress(KeyError, TypeError, ValueError):
        modified = parsedate_to_datetime(headers["Last-Modified"])
    return Versioned(
        resource, version_id, etag, modified if isinstance(modified, datetime) else None
    )


class FhirClient:
    """FHIR R4 read, search, create and version-aware update against one FHIR base.

    :param base_url: the FHIR base (``iss``).
    :param tokens: where the bearer token comes from (a launch or Backend Services client).
    :param session: a session from :func:`smart_launch.http.make_session`; one is made if None.
    """

    def __init__(
        self, base_url: str, tokens: TokenSource, *, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._session = session if session is not None else make_session()

    def read(self, resource_type: str, id: str) -> Versioned[Resource]:  # noqa: A002
        """GET ``[base]/[type]/[id]``.

        :raises FhirNotFound: 404.
        :raises FhirGone: 410, the resource was deleted.
        :raises FhirValidationError: when the body is not a valid ``resource_type`` with that id.
        :raises UpstreamUnavailable: when the server cannot be reached.
        """
        response = self._send("GET", self._url(resource_type, id))
        resource = parse_resource(self._json(response), resource_type)
        if resource.id != id:
            raise FhirValidationError(f"The EHR answered a {resource_type} read with another id.")
        return _versioned(resource, response.headers)

    def search(
        self,
        resource_type: str,
        params: Mapping[str, str] | Sequence[tuple[str, str]],
        *,
        max_pages: int = 5,
    ) -> list[Resource]:
        """GET ``[base]/[type]?params`` and follow ``next`` links, reading at most ``max_pages``
        pages; returns the ``match`` and ``include`` entries (``outcome`` ones are dropped).

        :raises FhirValidationError: when a page is not a valid Bundle, or a ``next`` link
            points outside the FHIR base (it is never followed, so the token stays here).
        :raises ValueError: when ``max_pages`` is below 1.
        """
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1.")
        query = list(params.items()) if isinstance(params, Mapping) else list(params)
        url, found = self._url(resource_type), []
        for page in range(max_pages):
            response = self._send("GET", url, params=None if page else query)
            bundle = parse_resource(self._json(response), "Bundle")
            for entry in getattr(bundle, "entry", None) or []:
                mode = entry.search.mode if entry.search is not None else None
                if entry.resource is not None and mode != "outcome":
                    found.append(entry.resource)
            links = getattr(bundle, "link", None) or []
            following = next((str(k.url) for k in links if k.relation == "next" and k.url), None)
            if following is None:
                break
            url = urljoin(self.base_url + "/", following)
            if not is_under_base(url, self.base_url):
                raise FhirValidationError(
                    "The EHR's next-page link points outside its FHIR base; it was not followed."
                )
        return found

    def create(self, resource: Resource, *, if_none_exist: str | None = None) -> CreateResult:
        """POST ``[base]/[type]``; with ``if_none_exist`` a conditional create.

        :param if_none_exist: search parameters, e.g. ``identifier=urn:x|1``.
        :raises FhirPreconditionFailed: when a conditional create matched several resources.
        :raises FhirValidationError: when the server rejects the resource (400/422).
        """
        resource_type = resource.get_resource_type()
        headers = {"Content-Type": FHIR_JSON}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist.lstrip("?")
        body = resource.model_dump_json().encode()
        response = self._send("POST", self._url(resource_type), headers=headers, data=body)
        return CreateResult(response.status_code, self._written(response, resource_type))

    def update(self, resource: Resource, *, if_match: str) -> Versioned[Resource]:
        """PUT ``[base]/[type]/[id]`` with ``If-Match``; the version must come from a prior read.

        :param if_match: the ETag (or bare version id) the change was based on.
        :raises FhirPreconditionFailed: 412, the resource changed since it was read.
        :raises FhirConflict: 409 or 428.
        :raises ValueError: when the resource has no id or ``if_match`` is blank.
        """
        resource_type = resource.get_resource_type()
        if not resource.id:
            raise ValueError("A resource needs an id to be updated.")
        headers = {"Content-Type": FHIR_JSON, "If-Match": if_match_value(if_match)}
        url, body = self._url(resource_type, resource.id), resource.model_dump_json().encode()
        return self._written(self._send("PUT", url, headers=headers, data=body), resource_type)

    def update_with(
        self,
        resource_type: str,
        id: str,  # noqa: A002
        change: Callable[[Resource], Resource | None],
        *,
        attempts: int = 3,
    ) -> Versioned[Resource] | None:
        """Read, ``change`` a fresh copy, PUT it with If-Match; on 409/412/428 re-read and call
        ``change`` again on the new version.  Nothing is ever overwritten blindly.

        :param change: the new content from the current one, or None when no longer needed.
        :param attempts: how many read-change-write rounds to try.
        :raises FhirConflict: when every attempt met a concurrent change, or the server gives
            no version to make the write conditional on.
        :raises ValueError: when ``change`` returns another resource or ``attempts`` < 1.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1.")
        last: FhirConflict | None = None
        for _ in range(attempts):
            current = self.read(resource_type, id)
            changed = change(current.resource.model_copy(deep=True))
            if changed is None:
                return None
            if changed.get_resource_type() != resource_type or changed.id != id:
                raise ValueError("update_with's change must return the same resource.")
            if current.etag is None:
                raise FhirConflict("The EHR gives no version for this record; not changed.")
            try:
                return self.update(changed, if_match=current.etag)
            except FhirConflict as exc:
                last = exc
        raise FhirConflict(
            f"The record kept changing in the EHR; gave up after {attempts} attempts.",
            http_status=last.http_status if last else None,
            outcome=last.outcome if last else None,
        ) from last

    def _url(self, resource_type: str, resource_id: str | None = None) -> str:
        """``[base]/[type]`` or ``[base]/[type]/[id]``, refusing anything that could leave them."""
        ids = [] if resource_id is None else [resource_id]
        if not valid_type(resource_type) or not all(valid_id(i) for i in ids):
            raise ValueError(f"Not a FHIR resource type and id: {resource_type} {ids}")
        return "/".join([self.base_url, resource_type, *ids])

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        if not is_under_base(url, self.base_url):
            raise FhirValidationError("Refused to send the access token outside the FHIR base.")
        token = self._tokens.access_token()
        sent = {"Accept": FHIR_JSON, **(headers or {}), "Authorization": f"Bearer {token}"}
        try:
            response = self._session.request(
                method, url, params=params, headers=sent, data=data, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise errors.UpstreamUnavailable from exc
        if 200 <= response.status_code < 300:
            return response
        body = self._decoded(response)
        outcome = (
            body
            if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"
            else None
        )
        raise error_for_status(response.status_code, outcome, secret=token)

    @staticmethod
    def _decoded(response: requests.Response) -> object:
        try:
            return response.json() if response.content.strip() else None
        except ValueError:
            return None

    def _json(self, response: requests.Response) -> object:
        data = self._decoded(response)
        if data is None:
            raise FhirValidationError(
                "The EHR answered with an empty body or one that is not JSON."
            )
        return data

    def _written(self, response: requests.Response, resource_type: str) -> Versioned[Resource]:
        """The stored resource, read back by ``Location`` when the body is not it (for example
        after ``Prefer: return=minimal`` or ``return=OperationOutcome``)."""
        data = self._decoded(response)
        if isinstance(data, dict) and data.get("resourceType") == resource_type:
            return _versioned(parse_resource(data, resource_type), response.headers)
        location = response.headers.get("Location") or response.headers.get("Content-Location")
        target = parse_reference(location, self.base_url) if location else None
        if target is None or target[0] != resource_type:
            raise FhirValidationError(
                "The EHR accepted the write but sent neither the resource nor a usable Location."
            )
        return self.read(*target)
