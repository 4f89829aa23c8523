# SPDX-License-Identifier: Apache-2.0
"""smart_launch.context: the secret-free, frozen launch context."""

from __future__ import annotations

import dataclasses
import json

import pytest

from smart_launch.context import LaunchContext

FIELDS = {
    "tenant",
    "iss",
    "patient",
    "encounter",
    "fhir_user",
    "scopes",
    "need_patient_banner",
    "smart_style_url",
    "launch_type",
    "app_context",
}


def _context(**overrides: object) -> LaunchContext:
    values: dict[str, object] = {
        "tenant": "clinic-a",
        "iss": "https://ehr.example/fhir",
        "patient": "pat-1",
        "encounter": "enc-1",
        "fhir_user": "https://ehr.example/fhir/Practitioner/therapist",
        "scopes": ("launch", "openid", "patient/Patient.rs"),
        "need_patient_banner": True,
        "smart_style_url": "https://ehr.example/smart-style.json",
        "launch_type": "standalone",
    }
    values.update(overrides)
    return LaunchContext(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "context",
    [
        _context(),
        _context(patient=None, encounter=None, fhir_user=None, smart_style_url=None),
        _context(scopes=(), need_patient_banner=False, launch_type="ehr"),
    ],
)
def test_to_dict_and_from_dict_round_trip_through_json(context: LaunchContext) -> None:
    data = context.to_dict()
    assert set(data) == FIELDS
    assert isinstance(data["scopes"], list)
    assert LaunchContext.from_dict(json.loads(json.dumps(data))) == context


def test_from_dict_fills_defaults() -> None:
    context = LaunchContext.from_dict({"tenant": "clinic-a", "iss": "https://ehr.example/fhir"})
    assert context == LaunchContext(
        tenant="clinic-a",
        iss="https://ehr.example/fhir",
        patient=None,
        encounter=None,
        fhir_user=None,
        scopes=(),
        need_patient_banner=False,
        smart_style_url=None,
        launch_type="ehr",
    )


def test_the_context_holds_no_token_field() -> None:
    names = {field.name for field in dataclasses.fields(LaunchContext)}
    assert names == FIELDS
    assert not any("token" in name or "secret" in name for name in names)


def test_the_context_is_frozen() -> None:
    context = _context()
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.patient = "pat-2"  # type: ignore[misc]
    assert context.patient == "pat-1"


@pytest.mark.parametrize(
    ("fhir_user", "user_type", "reference"),
    [
        (
            "https://ehr.example/fhir/Practitioner/therapist",
            "Practitioner",
            "Practitioner/therapist",
        ),
        ("https://ehr.example/fhir/PractitionerRole/9/", "PractitionerRole", "PractitionerRole/9"),
        ("Practitioner/therapist", "Practitioner", "Practitioner/therapist"),
        ("Patient/pat-1", "Patient", "Patient/pat-1"),
        ("https://ehr.example/r4/RelatedPerson/rp1", "RelatedPerson", "RelatedPerson/rp1"),
        ("Practitioner", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_fhir_user_type_and_reference(
    fhir_user: str | None, user_type: str | None, reference: str | None
) -> None:
    context = _context(fhir_user=fhir_user)
    assert context.fhir_user_type == user_type
    assert context.fhir_user_reference == reference


def test_app_context_round_trips_and_stays_out_of_the_repr() -> None:
    app_context = '{"verify":{"appointment":"appt-1-next","action":"reschedule"}}'
    context = _context(app_context=app_context)
    data = json.loads(json.dumps(context.to_dict()))
    assert data["app_context"] == app_context
    assert LaunchContext.from_dict(data) == context
    assert LaunchContext.from_dict(data).app_context == app_context
    assert "appt-1-next" not in repr(context)


def test_app_context_defaults_to_none_and_ignores_non_strings() -> None:
    assert _context().app_context is None
    data = _context().to_dict()
    data["app_context"] = {"verify": {}}
    assert LaunchContext.from_dict(data).app_context is None
