# SPDX-License-Identifier: Apache-2.0
"""Unit tests of smart_launch.fhir: the pure helpers, and the client against canned answers.

The canned answers come from a real werkzeug server on 127.0.0.1, port 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import pytest
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.patient import Patient
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from smart_launch.errors import FhirConflict
from smart_launch.errors import FhirError
from smart_launch.errors import FhirGone
from smart_launch.errors import FhirNotFound
from smart_launch.errors import FhirPreconditionFailed
from smart_launch.errors import FhirServerError
from smart_launch.errors import FhirUnauthorized
from smart_launch.errors import FhirValidationError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.fhir import FhirClient
from smart_launch.fhir import error_for_status
from smart_launch.fhir import etag_version
from smart_launch.fhir import is_under_base
from smart_launch.fhir import parse_reference
from smart_launch.fhir import parse_resource
from smart_launch.fhir_wire import valid_id
from smart_launch.fhir_wire import valid_type
from smart_launch.http import make_session

if TYPE_CHECKING:
    from tests.unit.smart_launch.conftest import Peer

TOKEN = "unit-test-token-5f3a"
Handler = Callable[[Request], Response]


@dataclass
class Canned:
    """A FHIR server at ``{peer}/fhir`` answering from the peer's table of (method, path).

    A request with no route gets 599.
    """

    peer: Peer

    @property
    def routes(self) -> dict[tuple[str, str], Handler]:
        return self.peer.routes

    @property
    def seen(self) -> list[Request]:
        return self.peer.seen

    @property
    def base(self) -> str:
        return self.peer.fhir_base

    def json(self, method: str, path: str, body: object, status: int = 200, **headers: str) -> None:
        text = json.dumps(body)
        self.routes[(method, path)] = lambda _r: Response(
            text, status=status, headers=headers, content_type="application/fhir+json"
        )


def _canned(peer: Peer) -> Canned:
    peer.missing_status = 599
    return Canned(peer)


@pytest.fixture
def canned(peer: Peer) -> Canned:
    return _canned(peer)


@pytest.fixture
def elsewhere(other_peer: Peer) -> Canned:
    return _canned(other_peer)


class StaticToken:
    def access_token(self) -> str:
        return TOKEN


def _client(canned: Canned, **kwargs: Any) -> FhirClient:
    return FhirClient(canned.base, StaticToken(), **kwargs)


def _patient_json(pid: str = "p1", version: str | None = "1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Patient", "id": pid, **extra}
    if version is not None:
        body["meta"] = {"versionId": version, "lastUpdated": "2025-01-02T03:04:05Z"}
    return body


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


@pytest.mark.parametrize(
    ("etag", "version"),
    [('W/"3"', "3"), ('w/"3"', "3"), ('"3"', "3"), ("3", "3"), (' W/"12" ', "12"), ("", None)],
)
def test_etag_version_accepts_weak_strong_and_bare(etag: str, version: str | None) -> None:
    assert etag_version(etag) == version


def test_etag_version_of_none_is_none() -> None:
    assert etag_version(None) is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, FhirValidationError),
        (401, FhirUnauthorized),
        (403, FhirUnauthorized),
        (404, FhirNotFound),
        (409, FhirConflict),
        (410, FhirGone),
        (412, FhirPreconditionFailed),
        (422, FhirValidationError),
        (428, FhirConflict),
        (500, FhirServerError),
        (503, FhirServerError),
        (418, FhirError),
    ],
)
def test_status_maps_to_the_typed_error(status: int, cls: type[FhirError]) -> None:
    error = error_for_status(status, _outcome("Patient.birthDate is wrong"))

    assert type(error) is cls
    assert error.http_status == status
    assert "Patient.birthDate is wrong" in error.description
    assert error.outcome is not None


def test_428_is_a_conflict_but_not_a_precondition_failure() -> None:
    error = error_for_status(428)
    assert isinstance(error, FhirConflict)
    assert not isinstance(error, FhirPreconditionFailed)


def test_error_description_never_carries_the_token() -> None:
    error = error_for_status(401, _outcome(f"Bearer {TOKEN} is expired"), secret=TOKEN)

    assert TOKEN not in error.description
    assert "[redacted]" in error.description


def test_no_prefix_of_the_token_survives_shortening() -> None:
    error = error_for_status(400, _outcome("x" * 385 + TOKEN), secret=TOKEN)

    assert TOKEN[:6] not in error.description


def test_error_description_uses_details_text_and_is_bounded() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "x", "details": {"text": "x" * 5000}}, "junk"],
    }

    error = error_for_status(400, outcome)

    assert "xxxx" in error.description
    assert len(error.description) < 600


BASE = "https://ehr.example.org/fhir"


@pytest.mark.parametrize(
    ("url", "under"),
    [
        (f"{BASE}/Patient?page=2", True),
        ("https://EHR.example.org:443/fhir/Patient", True),
        (BASE, True),
        ("http://ehr.example.org/fhir/Patient", False),
        ("https://ehr.example.org:8443/fhir/Patient", False),
        ("https://evil.example.org/fhir/Patient", False),
        ("https://ehr.example.org.evil.test/fhir/Patient", False),
        ("https://ehr.example.org/fhirx/Patient", False),
        ("https://ehr.example.org/other/Patient", False),
        ("https://ehr.example.org@evil.test/fhir/Patient", False),
        ("https://user:pw@ehr.example.org/fhir/Patient", False),
        ("https://ehr.example.org/fhir/../admin", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", False),
        ("https://ehr.example.org:notaport/fhir", False),
    ],
)
def test_is_under_base(url: str, under: bool) -> None:
    assert is_under_base(url, BASE) is under


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("Patient/1", ("Patient", "1")),
        (f"{BASE}/Patient/1", ("Patient", "1")),
        (f"{BASE}/Patient/1/_history/4", ("Patient", "1")),
        ("Patient/1/_history/4", ("Patient", "1")),
        ("/fhir/Patient/a-b.c", ("Patient", "a-b.c")),
        ("https://other.example.org/fhir/Patient/1", None),
        ("#contained", None),
        ("urn:uuid:0b5b1b8e-0000-4000-8000-000000000000", None),
        ("Patient", None),
        ("patient/1", None),
        ("Patient/1/extra", None),
        ("", None),
    ],
)
def test_parse_reference(reference: str, parsed: tuple[str, str] | None) -> None:
    assert parse_reference(reference, BASE) == parsed


@pytest.mark.parametrize("value", ["1\n", "a b", "", "x" * 65, "Patient/1"])
def test_valid_id_refuses_whatever_is_not_a_whole_id(value: str) -> None:
    assert valid_id(value) is False


@pytest.mark.parametrize("value", ["Patient\n", "patient", "Pat1ent", ""])
def test_valid_type_refuses_whatever_is_not_a_whole_type_name(value: str) -> None:
    assert valid_type(value) is False


def test_valid_id_and_type_accept_what_fhir_allows() -> None:
    assert valid_id("a-b.C9")
    assert valid_type("PractitionerRole")


def test_parse_resource_gives_a_readable_message_not_a_pydantic_trace() -> None:
    with pytest.raises(FhirValidationError) as caught:
        parse_resource({"resourceType": "Patient", "birthDate": "yesterday"}, "Patient")

    message = caught.value.description
    assert "Patient.birthDate" in message
    assert "valid FHIR" in message
    assert "pydantic" not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"resourceType": "Observation", "id": "o"}, "where a Patient was expected"),
        ({"id": "x"}, "not a FHIR resource"),
        (["not", "an", "object"], "not a FHIR resource"),
        ({"resourceType": "HumanName"}, "not a FHIR resource"),
        ({"resourceType": "NoSuchThing"}, "not a FHIR resource"),
    ],
)
def test_parse_resource_refuses_what_is_not_the_expected_resource(
    data: object, fragment: str
) -> None:
    expected = "Patient" if isinstance(data, dict) and "Observation" in data.values() else None
    with pytest.raises(FhirValidationError, match=fragment):
        parse_resource(data, expected)


def test_read_sends_accept_and_bearer_and_builds_the_etag_from_meta(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(version="7"))

    read = _client(canned).read("Patient", "p1")

    assert read.version_id == "7"
    assert read.etag == 'W/"7"'
    assert read.last_modified is not None
    assert read.last_modified.year == 2025
    (request,) = canned.seen
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_read_prefers_the_etag_header_in_any_case(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(version=None), ETag='w/"9"')

    read = _client(canned).read("Patient", "p1")

    assert (read.version_id, read.etag) == ("9", 'w/"9"')


def test_read_refuses_an_invalid_body(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(gender=["many"]))

    with pytest.raises(FhirValidationError, match=r"Patient\.gender"):
        _client(canned).read("Patient", "p1")


def test_read_refuses_a_body_that_is_not_json(canned: Canned) -> None:
    canned.routes[("GET", "/fhir/Patient/p1")] = lambda _r: Response("<html>hi</html>")

    with pytest.raises(FhirValidationError, match="not JSON"):
        _client(canned).read("Patient", "p1")


def test_read_refuses_another_resource_than_asked(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(pid="p2"))

    with pytest.raises(FhirValidationError, match="another id"):
        _client(canned).read("Patient", "p1")


@pytest.mark.parametrize(
    ("resource_type", "rid"),
    [("Patient", "../Observation/1"), ("Patient", ""), ("Patient", "a?b=c"), ("../admin", "1")],
)
def test_a_path_that_could_leave_the_resource_never_reaches_the_server(
    canned: Canned, resource_type: str, rid: str
) -> None:
    with pytest.raises(ValueError, match="Not a FHIR resource type and id"):
        _client(canned).read(resource_type, rid)
    assert canned.seen == []


def test_errors_carry_the_outcome_but_not_the_token(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _outcome(f"token {TOKEN} unknown"), status=403)

    with pytest.raises(FhirUnauthorized) as caught:
        _client(canned).read("Patient", "p1")

    assert TOKEN not in caught.value.description
    assert caught.value.outcome is not None


def test_a_5xx_html_page_is_a_server_error_without_outcome(canned: Canned) -> None:
    canned.routes[("GET", "/fhir/Patient/p1")] = lambda _r: Response("<h1>oops</h1>", status=502)

    with pytest.raises(FhirServerError) as caught:
        _client(canned).read("Patient", "p1")

    assert caught.value.outcome is None
    assert "HTTP 502" in caught.value.description


def test_a_redirect_is_not_followed(canned: Canned, elsewhere: Canned) -> None:
    canned.routes[("GET", "/fhir/Patient/p1")] = lambda _r: Response(
        status=302, headers={"Location": f"{elsewhere.base}/Patient/p1"}
    )

    with pytest.raises(FhirError) as caught:
        _client(canned).read("Patient", "p1")

    assert caught.value.http_status == 302
    assert elsewhere.seen == []


def _bundle(*ids: str, next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": _patient_json(pid), "search": {"mode": "match"}} for pid in ids]
        + [{"resource": _outcome("just so you know"), "search": {"mode": "outcome"}}],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def test_search_follows_relative_and_absolute_next_links_under_the_base(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient", _bundle("a", next_url="Patient/_page2"))
    canned.json("GET", "/fhir/Patient/_page2", _bundle("b", next_url=f"{canned.base}/Patient/_p3"))
    canned.json("GET", "/fhir/Patient/_p3", _bundle("c"))

    found = _client(canned).search("Patient", [("identifier", "urn:x|1"), ("_count", "1")])

    assert [r.id for r in found] == ["a", "b", "c"]
    assert canned.seen[0].args.getlist("identifier") == ["urn:x|1"]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in canned.seen)


def test_search_stops_after_max_pages(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient", _bundle("a", next_url="Patient/_page2"))
    canned.json("GET", "/fhir/Patient/_page2", _bundle("b", next_url="Patient/_page2"))

    found = _client(canned).search("Patient", {"name": "x"}, max_pages=3)

    assert [r.id for r in found] == ["a", "b", "b"]
    assert len(canned.seen) == 3


def test_search_never_sends_the_token_to_another_host(canned: Canned, elsewhere: Canned) -> None:
    canned.json("GET", "/fhir/Patient", _bundle("a", next_url=f"{elsewhere.base}/Patient?p=2"))

    with pytest.raises(FhirValidationError, match="outside its FHIR base"):
        _client(canned).search("Patient", {"name": "x"})

    assert elsewhere.seen == []


def test_search_refuses_a_page_that_is_not_a_bundle(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient", _patient_json())

    with pytest.raises(FhirValidationError, match="where a Bundle was expected"):
        _client(canned).search("Patient", {})


def test_create_with_return_minimal_reads_back_by_relative_location(canned: Canned) -> None:
    canned.routes[("POST", "/fhir/Patient")] = lambda _r: Response(
        status=201, headers={"Location": "Patient/new1/_history/1"}
    )
    canned.json("GET", "/fhir/Patient/new1", _patient_json("new1", version="1"))

    result = _client(canned).create(
        Patient(name=[HumanName(family="Doe")]), if_none_exist="?identifier=urn:x|1"
    )

    assert result.created
    assert result.versioned.resource.id == "new1"
    assert result.versioned.etag == 'W/"1"'
    post = canned.seen[0]
    assert post.headers["Content-Type"] == "application/fhir+json"
    assert post.headers["If-None-Exist"] == "identifier=urn:x|1"
    assert json.loads(post.get_data())["name"] == [{"family": "Doe"}]


def test_create_with_an_operation_outcome_body_reads_back_by_location(canned: Canned) -> None:
    location = f"{canned.base}/Patient/n2"
    canned.json("POST", "/fhir/Patient", _outcome("created"), status=201, Location=location)
    canned.json("GET", "/fhir/Patient/n2", _patient_json("n2", version="1"))

    assert _client(canned).create(Patient()).versioned.resource.id == "n2"


def test_create_refuses_a_location_on_another_server(canned: Canned, elsewhere: Canned) -> None:
    canned.routes[("POST", "/fhir/Patient")] = lambda _r: Response(
        status=201, headers={"Location": f"{elsewhere.base}/Patient/n3"}
    )

    with pytest.raises(FhirValidationError, match="usable Location"):
        _client(canned).create(Patient())

    assert elsewhere.seen == []


def test_conditional_create_that_matched_is_reported_as_existing(canned: Canned) -> None:
    canned.json("POST", "/fhir/Patient", _patient_json("old", version="4"), ETag='W/"4"')

    result = _client(canned).create(Patient(), if_none_exist="identifier=urn:x|1")

    assert (result.status, result.created) == (200, False)
    assert result.versioned.version_id == "4"


def test_update_sends_if_match_as_a_weak_etag(canned: Canned) -> None:
    canned.json("PUT", "/fhir/Patient/p1", _patient_json(version="4"), ETag='W/"4"')

    updated = _client(canned).update(Patient(id="p1"), if_match="3")

    assert updated.version_id == "4"
    assert canned.seen[0].headers["If-Match"] == 'W/"3"'


def test_update_needs_an_id_and_a_version(canned: Canned) -> None:
    with pytest.raises(ValueError, match="id"):
        _client(canned).update(Patient(), if_match='W/"1"')
    with pytest.raises(ValueError, match="version"):
        _client(canned).update(Patient(id="p1"), if_match=' W/"" ')
    assert canned.seen == []


def test_update_with_gives_up_after_the_attempts(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(version="5"))
    canned.json("PUT", "/fhir/Patient/p1", _outcome("Version conflict"), status=412)
    versions: list[str] = []

    def change(resource: Any) -> Any:
        versions.append(str(resource.meta.versionId))
        resource.active = True
        return resource

    with pytest.raises(FhirConflict) as caught:
        _client(canned).update_with("Patient", "p1", change, attempts=3)

    assert versions == ["5", "5", "5"]
    assert caught.value.http_status == 412
    assert [r.method for r in canned.seen] == ["GET", "PUT"] * 3
    assert all(r.headers["If-Match"] == 'W/"5"' for r in canned.seen if r.method == "PUT")


def test_update_with_retries_on_428_and_409_too(canned: Canned) -> None:
    statuses = iter([428, 409])

    def put(_request: Request) -> Response:
        status = next(statuses, 200)
        body = _patient_json(version="6") if status == 200 else _outcome("busy")
        return Response(json.dumps(body), status=status, content_type="application/fhir+json")

    canned.json("GET", "/fhir/Patient/p1", _patient_json(version="5"))
    canned.routes[("PUT", "/fhir/Patient/p1")] = put

    result = _client(canned).update_with("Patient", "p1", lambda resource: resource)

    assert result is not None
    assert result.version_id == "6"


def test_update_with_refuses_to_write_without_a_version(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json(version=None))

    with pytest.raises(FhirConflict, match="no version"):
        _client(canned).update_with("Patient", "p1", lambda resource: resource)

    assert [r.method for r in canned.seen] == ["GET"]


def test_update_with_refuses_a_change_that_swaps_the_resource(canned: Canned) -> None:
    canned.json("GET", "/fhir/Patient/p1", _patient_json())

    with pytest.raises(ValueError, match="same resource"):
        _client(canned).update_with("Patient", "p1", lambda _resource: Patient(id="p2"))


def test_a_refused_connection_is_upstream_unavailable(closed_url: str) -> None:
    client = FhirClient(f"{closed_url}/fhir", StaticToken())

    with pytest.raises(UpstreamUnavailable):
        client.read("Patient", "p1")


def test_a_timeout_is_upstream_unavailable(canned: Canned) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(1.0)
        return Response("{}")

    canned.routes[("GET", "/fhir/Patient/p1")] = slow
    client = _client(canned, session=make_session(timeout=(1.0, 0.2)))

    with pytest.raises(UpstreamUnavailable):
        client.read("Patient", "p1")
