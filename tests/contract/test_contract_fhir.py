# SPDX-License-Identifier: Apache-2.0
"""The FHIR client against every contract server: read, search, create, versioned update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference

from smart_launch.errors import FhirConflict
from smart_launch.errors import FhirNotFound
from smart_launch.errors import FhirPreconditionFailed
from smart_launch.errors import FhirUnauthorized
from smart_launch.errors import FhirValidationError
from smart_launch.fhir import FhirClient
from smart_launch.fhir import etag_version
from smart_launch.fhir import parse_reference
from smart_launch.http import make_session

from .conftest import SYSTEM
from .conftest import new_patient

if TYPE_CHECKING:
    from fhir.resources.R4B.resource import Resource

    from smart_launch.backend import BackendServicesClient

    from .conftest import ContractServer


def _family(resource: Resource) -> str:
    assert isinstance(resource, Patient)
    assert resource.name
    return str(resource.name[0].family)


def test_create_then_read_returns_the_version(fhir: FhirClient, unique: str) -> None:
    created = fhir.create(new_patient(unique))

    assert created.status == 201
    assert created.created
    stored = created.versioned
    assert stored.resource.id
    assert stored.version_id
    assert etag_version(stored.etag) == stored.version_id
    assert stored.etag is not None
    assert stored.etag.startswith('W/"')
    assert stored.last_modified is not None

    read = fhir.read("Patient", stored.resource.id)
    assert isinstance(read.resource, Patient)
    assert read.resource.id == stored.resource.id
    assert read.version_id == stored.version_id
    assert etag_version(read.etag) == stored.version_id
    assert read.resource.identifier
    assert read.resource.identifier[0].value == unique


def test_search_by_identifier_and_by_id(fhir: FhirClient, unique: str) -> None:
    wanted = fhir.create(new_patient(unique)).versioned.resource
    fhir.create(new_patient(unique + "-other"))

    by_identifier = fhir.search("Patient", {"identifier": f"{SYSTEM}|{unique}"})
    by_id = fhir.search("Patient", [("_id", str(wanted.id))])

    assert [r.id for r in by_identifier] == [wanted.id]
    assert [r.id for r in by_id] == [wanted.id]
    assert all(isinstance(r, Patient) for r in by_identifier + by_id)


def test_search_follows_next_links_up_to_max_pages(fhir: FhirClient, unique: str) -> None:
    ids = {fhir.create(new_patient(unique, f"Page{n}")).versioned.resource.id for n in range(3)}
    query = {"identifier": f"{SYSTEM}|{unique}", "_count": "1"}

    everything = fhir.search("Patient", query)
    first_two = fhir.search("Patient", query, max_pages=2)

    assert {r.id for r in everything} == ids
    assert len(everything) == 3
    assert len(first_two) == 2


def test_conditional_create_twice_makes_one_resource(fhir: FhirClient, unique: str) -> None:
    condition = f"identifier={SYSTEM}|{unique}"

    first = fhir.create(new_patient(unique), if_none_exist=condition)
    second = fhir.create(new_patient(unique, "Again"), if_none_exist=condition)

    assert (first.status, second.status) == (201, 200)
    assert not second.created
    assert second.versioned.resource.id == first.versioned.resource.id
    assert _family(second.versioned.resource) == "Doe"
    assert len(fhir.search("Patient", {"identifier": f"{SYSTEM}|{unique}"})) == 1


def test_update_with_the_right_if_match_bumps_the_version(fhir: FhirClient, unique: str) -> None:
    created = fhir.create(new_patient(unique)).versioned
    patient = fhir.read("Patient", str(created.resource.id))
    changed = patient.resource.model_copy(deep=True)
    assert isinstance(changed, Patient)
    changed.active = True

    assert patient.etag is not None
    updated = fhir.update(changed, if_match=patient.etag)

    assert updated.version_id is not None
    assert updated.version_id != patient.version_id
    again = fhir.read("Patient", str(created.resource.id))
    assert again.version_id == updated.version_id
    assert isinstance(again.resource, Patient)
    assert again.resource.active is True


def test_update_with_a_bare_version_id_is_sent_as_an_etag(fhir: FhirClient, unique: str) -> None:
    created = fhir.create(new_patient(unique)).versioned
    changed = created.resource.model_copy(deep=True)
    assert isinstance(changed, Patient)
    changed.active = False

    assert created.version_id is not None
    updated = fhir.update(changed, if_match=created.version_id)

    assert updated.version_id != created.version_id


def test_stale_if_match_is_refused_and_nothing_changes(fhir: FhirClient, unique: str) -> None:
    created = fhir.create(new_patient(unique)).versioned
    assert created.etag is not None
    newer = created.resource.model_copy(deep=True)
    assert isinstance(newer, Patient)
    newer.active = True
    current = fhir.update(newer, if_match=created.etag)
    stale = created.resource.model_copy(deep=True)
    assert isinstance(stale, Patient)
    stale.name = [HumanName(family="Overwritten")]

    with pytest.raises(FhirPreconditionFailed) as caught:
        fhir.update(stale, if_match=created.etag)

    assert caught.value.http_status == 412
    stored = fhir.read("Patient", str(created.resource.id))
    assert stored.version_id == current.version_id
    assert _family(stored.resource) == "Doe"


def test_update_with_re_reads_and_re_decides_on_a_concurrent_change(
    fhir: FhirClient, unique: str
) -> None:
    pid = str(fhir.create(new_patient(unique)).versioned.resource.id)
    seen_families: list[str] = []

    def rename(resource: Resource) -> Resource:
        seen_families.append(_family(resource))
        if len(seen_families) == 1:  # someone else saves between our read and our write
            other = fhir.read("Patient", pid)
            assert isinstance(other.resource, Patient)
            other.resource.name = [HumanName(family="Concurrent")]
            assert other.etag is not None
            fhir.update(other.resource, if_match=other.etag)
        assert isinstance(resource, Patient)
        resource.active = True
        return resource

    result = fhir.update_with("Patient", pid, rename)

    assert seen_families == ["Doe", "Concurrent"]
    assert result is not None
    stored = fhir.read("Patient", pid)
    assert stored.version_id == result.version_id
    assert _family(stored.resource) == "Concurrent"
    assert isinstance(stored.resource, Patient)
    assert stored.resource.active is True


def test_update_with_stops_when_the_change_is_no_longer_needed(
    fhir: FhirClient, unique: str
) -> None:
    created = fhir.create(new_patient(unique)).versioned

    result = fhir.update_with("Patient", str(created.resource.id), lambda _resource: None)

    assert result is None
    assert fhir.read("Patient", str(created.resource.id)).version_id == created.version_id


def test_update_with_gives_up_when_every_attempt_conflicts(fhir: FhirClient, unique: str) -> None:
    pid = str(fhir.create(new_patient(unique)).versioned.resource.id)
    calls = 0

    def always_raced(resource: Resource) -> Resource:
        nonlocal calls
        calls += 1
        other = fhir.read("Patient", pid)
        assert other.etag is not None
        fhir.update(other.resource, if_match=other.etag)
        return resource

    with pytest.raises(FhirConflict) as caught:
        fhir.update_with("Patient", pid, always_raced, attempts=2)

    assert calls == 2
    assert caught.value.http_status == 412


def test_reading_an_unknown_id_raises_not_found(
    fhir: FhirClient, backend: BackendServicesClient, unique: str
) -> None:
    with pytest.raises(FhirNotFound) as caught:
        fhir.read("Patient", unique)

    assert caught.value.http_status == 404
    assert backend.access_token() not in caught.value.description


def test_an_invalid_resource_is_refused_with_a_readable_message(
    fhir: FhirClient, unique: str
) -> None:
    patient = fhir.create(new_patient(unique)).versioned.resource
    invalid = Observation.model_construct(subject=Reference(reference=f"Patient/{patient.id}"))

    with pytest.raises(FhirValidationError) as caught:
        fhir.create(invalid)

    error = caught.value
    assert error.http_status in {400, 422}
    assert error.outcome is not None
    assert "The EHR said:" in error.description
    assert "code" in error.description or "status" in error.description
    assert "Traceback" not in error.description


def test_references_resolve_whether_the_server_answers_relative_or_absolute(
    fhir: FhirClient, unique: str
) -> None:
    pid = str(fhir.create(new_patient(unique)).versioned.resource.id)
    observation = Observation(
        status="final",
        code=CodeableConcept(coding=[Coding(system="http://loinc.org", code="76499-3")]),
        subject=Reference(reference=f"Patient/{pid}"),
    )

    stored = fhir.create(observation).versioned.resource
    read = fhir.read("Observation", str(stored.id)).resource

    assert isinstance(read, Observation)
    assert read.subject is not None
    assert parse_reference(str(read.subject.reference), fhir.base_url) == ("Patient", pid)


def test_prefer_return_minimal_is_read_back_by_location(
    contract_server: ContractServer, backend: BackendServicesClient, unique: str
) -> None:
    session = make_session()
    session.headers["Prefer"] = "return=minimal"
    minimal = FhirClient(contract_server.fhir_base, backend, session=session)

    created = minimal.create(new_patient(unique))

    assert created.status == 201
    assert isinstance(created.versioned.resource, Patient)
    assert created.versioned.version_id
    assert created.versioned.resource.identifier
    assert created.versioned.resource.identifier[0].value == unique


class _WrongToken:
    def access_token(self) -> str:
        return "not-a-token-this-server-issued"


def test_a_token_the_server_did_not_issue_is_refused(contract_server: ContractServer) -> None:
    client = FhirClient(contract_server.fhir_base, _WrongToken())

    with pytest.raises(FhirUnauthorized) as caught:
        client.search("Patient", {"_count": "1"})

    assert caught.value.http_status == 401
    assert "not-a-token-this-server-issued" not in caught.value.description
