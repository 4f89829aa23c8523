# SPDX-License-Identifier: Apache-2.0
"""The FHIR R4 REST endpoints under ``R/fhir``.

FHIR R4 "RESTful API" (https://hl7.org/fhir/R4/http.html): read, vread, search (GET and
``POST _search``), create (with ``If-None-Exist``), update (with ``If-Match``) and delete.
Every request except ``metadata`` (and the SMART discovery document) needs a bearer token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint
from flask import Response
from flask import request

from .access import Access
from .access import authenticate
from .bundles import searchset_bundle
from .capability import capability_statement
from .fhir_http import FhirHttpError
from .fhir_http import fhir_response
from .fhir_http import operation_outcome
from .fhir_http import parse_if_match
from .fhir_http import prefer
from .fhir_http import read_json_body
from .fhir_http import resource_headers
from .request_log import WriteRecord
from .search import SearchError
from .search import SearchRequest
from .search import matches
from .search import parse_search
from .search import sort_resources
from .search_params import RESOURCE_TYPES
from .state import SandboxState
from .state import get_state
from .store import MultipleMatches
from .store import StoredResource
from .store import VersionConflict
from .store import VersionRequired
from .validation import InvalidResource
from .validation import validate_resource

__all__ = ["bp"]

bp = Blueprint("sandbox_fhir", __name__, url_prefix="/fhir")

_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.")


@bp.errorhandler(FhirHttpError)
def _fhir_error(error: FhirHttpError) -> Response:
    return error.response()


def _resource_type(name: str) -> str:
    if name not in RESOURCE_TYPES:
        raise FhirHttpError(404, "not-supported", f"Resource type '{name}' is not supported.")
    return name


def _resource_id(value: str) -> str:
    if not value or len(value) > 64 or not set(value) <= _ID_CHARS:
        raise FhirHttpError(400, "invalid", f"'{value}' is not a valid FHIR id.")
    return value


def _access(state: SandboxState) -> Access:
    return Access(authenticate(state), state.config.fhir_base)


def _record_write(
    state: SandboxState, access: Access, interaction: str, stored: StoredResource
) -> None:
    """Note whose token made the write: the EHR's view of its author."""
    state.request_log.record_write(
        WriteRecord(
            interaction=interaction,
            resource_type=stored.resource_type,
            resource_id=stored.id,
            version=stored.version,
            client_id=access.token.client_id,
            user_id=access.token.user_id,
        )
    )


def _resource_response(stored: StoredResource, status: int = 200) -> Response:
    headers = resource_headers(stored.version, stored.last_updated)
    return fhir_response(stored.body, status, headers)


@bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement (no token needed)."""
    return fhir_response(capability_statement(get_state()))


@bp.get("/<type_name>/<resource_id>")
def read(type_name: str, resource_id: str) -> Response:
    """``GET [base]/[type]/[id]``: 404 when unknown, 410 when deleted."""
    state = get_state()
    resource_type, rid = _resource_type(type_name), _resource_id(resource_id)
    access = _access(state)
    patient = access.require(resource_type, "r")
    stored = state.store.read(resource_type, rid)
    if stored is None:
        raise FhirHttpError(404, "not-found", f"{resource_type}/{rid} is not known.")
    if stored.deleted:
        raise FhirHttpError(410, "deleted", f"{resource_type}/{rid} was deleted.")
    access.require_in_compartment(patient, stored.body)
    return _resource_response(stored)


@bp.get("/<type_name>/<resource_id>/_history/<version_id>")
def vread(type_name: str, resource_id: str, version_id: str) -> Response:
    """``GET [base]/[type]/[id]/_history/[vid]``."""
    state = get_state()
    resource_type, rid = _resource_type(type_name), _resource_id(resource_id)
    access = _access(state)
    patient = access.require(resource_type, "r")
    stored = (
        state.store.vread(resource_type, rid, int(version_id)) if version_id.isdigit() else None
    )
    if stored is None:
        raise FhirHttpError(404, "not-found", f"{resource_type}/{rid} has no version {version_id}.")
    access.require_in_compartment(patient, stored.body)
    if stored.deleted:
        raise FhirHttpError(
            410, "deleted", f"Version {version_id} of {resource_type}/{rid} is a deletion."
        )
    return _resource_response(stored)


@bp.get("/<type_name>")
def search_get(type_name: str) -> Response:
    """``GET [base]/[type]?params``."""
    return _search(_resource_type(type_name), list(request.args.items(multi=True)))


@bp.post("/<type_name>/_search")
def search_post(type_name: str) -> Response:
    """``POST [base]/[type]/_search`` with form-encoded parameters (and any in the URL)."""
    pairs = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
    return _search(_resource_type(type_name), pairs)


def _run_search(
    state: SandboxState, search: SearchRequest, patient: str | None
) -> list[StoredResource]:
    candidates = state.store.current(search.resource_type, patient)
    found = [
        item for item in candidates if matches(item.body, search.criteria, state.config.fhir_base)
    ]
    return sort_resources(found, search.sort, search.resource_type)


def _search(resource_type: str, pairs: list[tuple[str, str]]) -> Response:
    state = get_state()
    access = _access(state)
    patient = access.require(resource_type, "s")
    strict = (prefer("handling") or "").lower() == "strict"
    try:
        search = parse_search(resource_type, pairs, strict=strict)
    except SearchError as exc:
        raise FhirHttpError(400, "invalid", str(exc)) from None
    if patient is not None:
        access.require_search_within(patient, search)
    found = _run_search(state, search, patient)
    return fhir_response(searchset_bundle(state.config.fhir_base, search, found))


def _validated_body(resource_type: str) -> dict[str, Any]:
    body = read_json_body()
    try:
        validate_resource(resource_type, body)
    except InvalidResource as exc:
        raise FhirHttpError(
            400, "invalid", str(exc), expressions=[where for where, _ in exc.problems]
        ) from None
    if not isinstance(body, dict):
        raise FhirHttpError(400, "invalid", "The body must be a JSON object.")
    return body


def _write_response(stored: StoredResource, status: int) -> Response:
    headers = resource_headers(stored.version, stored.last_updated)
    headers["Location"] = (
        f"{get_state().config.fhir_base}/{stored.resource_type}/{stored.id}/_history/{stored.version}"
    )
    wanted = (prefer("return") or "representation").lower()
    if wanted == "minimal":
        return fhir_response(None, status, headers)
    if wanted == "operationoutcome":
        verb = "created" if status == 201 else "updated"
        outcome = operation_outcome(
            "information", "informational", f"{stored.resource_type}/{stored.id} {verb}."
        )
        return fhir_response(outcome, status, headers)
    return fhir_response(stored.body, status, headers)


@bp.post("/<type_name>")
def create(type_name: str) -> Response:
    """``POST [base]/[type]``, conditional with ``If-None-Exist``."""
    state = get_state()
    resource_type = _resource_type(type_name)
    access = _access(state)
    patient = access.require(resource_type, "c")
    body = _validated_body(resource_type)
    access.require_in_compartment(patient, body)
    condition = request.headers.get("If-None-Exist")
    matcher = None
    if condition is not None:
        pairs = _query_pairs(condition)
        try:
            search = parse_search(resource_type, pairs, strict=True)
        except SearchError as exc:
            raise FhirHttpError(400, "invalid", f"If-None-Exist: {exc}") from None

        def matcher(candidates: list[StoredResource]) -> list[StoredResource]:
            return [
                item
                for item in candidates
                if matches(item.body, search.criteria, state.config.fhir_base)
                and (patient is None or access.in_compartment(patient, item.body))
            ]

    try:
        stored, created = state.store.create(resource_type, body, matcher=matcher)
    except MultipleMatches as exc:
        raise FhirHttpError(412, "duplicate", f"If-None-Exist: {exc}") from None
    if not created:
        return _resource_response(stored, 200)
    _record_write(state, access, "create", stored)
    return _write_response(stored, 201)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    text = query.split("?", 1)[1] if "?" in query else query
    return parse_qsl(text, keep_blank_values=True)


@bp.put("/<type_name>/<resource_id>")
def update(type_name: str, resource_id: str) -> Response:
    """``PUT [base]/[type]/[id]``: versioned update, or create with the client's id."""
    state = get_state()
    resource_type, rid = _resource_type(type_name), _resource_id(resource_id)
    access = _access(state)
    if_match = parse_if_match()
    existing = state.store.read(resource_type, rid)
    live = existing is not None and not existing.deleted
    patient = access.require(resource_type, "u" if live else "c")
    body = _validated_body(resource_type)
    if body.get("id") != rid:
        raise FhirHttpError(
            400,
            "invalid",
            f"The body's id must equal the URL id '{rid}'.",
            expressions=[f"{resource_type}.id"],
        )
    if live and existing is not None:
        access.require_in_compartment(patient, existing.body)
    access.require_in_compartment(patient, body)
    try:
        stored, created = state.store.update(
            resource_type,
            rid,
            body,
            if_match=if_match,
            require_if_match=state.config.require_if_match,
        )
    except VersionConflict as exc:
        raise FhirHttpError(412, "conflict", str(exc)) from None
    except VersionRequired as exc:
        raise FhirHttpError(428, "business-rule", str(exc)) from None
    _record_write(state, access, "create" if created else "update", stored)
    return _write_response(stored, 201 if created else 200)


@bp.delete("/<type_name>/<resource_id>")
def delete(type_name: str, resource_id: str) -> Response:
    """``DELETE [base]/[type]/[id]``: a soft delete answered 204."""
    state = get_state()
    resource_type, rid = _resource_type(type_name), _resource_id(resource_id)
    access = _access(state)
    patient = access.require(resource_type, "d")
    if_match = parse_if_match()
    existing = state.store.read(resource_type, rid)
    if existing is None:
        raise FhirHttpError(404, "not-found", f"{resource_type}/{rid} is not known.")
    access.require_in_compartment(patient, existing.body)
    try:
        state.store.delete(resource_type, rid, if_match=if_match)
    except VersionConflict as exc:
        raise FhirHttpError(412, "conflict", str(exc)) from None
    _record_write(state, access, "delete", existing)
    return Response(status=204)
