# SPDX-License-Identifier: Apache-2.0
"""The scopes Quietline asks an EHR for: the minimum its capabilities use, no wildcards."""

from __future__ import annotations

__all__ = ["DEFAULT_SCOPE"]

DEFAULT_SCOPE = " ".join(  # noqa: FLY002  (one scope per line reads better)
    (
        "launch",
        "openid",
        "fhirUser",
        "online_access",
        "user/PractitionerRole.rs",
        "user/Person.rs",
        "patient/Patient.rs",
        "patient/RelatedPerson.rs",
        "patient/Appointment.rus",
        "patient/QuestionnaireResponse.cr",
        "patient/Observation.cr",
        "patient/RiskAssessment.cr",
        "patient/DocumentReference.cru",
        "patient/Consent.cru",
        "patient/Flag.cru",
        "patient/CommunicationRequest.cru",
        "patient/ServiceRequest.cr",
        "patient/Task.cru",
        "patient/Provenance.c",
    )
)
