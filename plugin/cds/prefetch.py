# SPDX-License-Identifier: Apache-2.0
"""The patient behind an ``appointment-book`` call: from prefetch, or read from the EHR.

CDS Hooks 2.0 "Prefetch": "If the CDS Client ... is unable to provide the data, and the CDS
Service is unable to retrieve it using fhirAuthorization, the CDS Service SHALL respond with
an HTTP 412 Precondition Failed status code."  The ``fhirAuthorization`` token is only ever
sent to the FHIR base registered as the tenant's ``iss``.
"""

from __future__ import annotations

from typing import Any

import requests

from smart_launch.errors import IssuerNotAllowed
from smart_launch.launch import normalize_iss

from .errors import InvalidRequest
from .errors import PrefetchUnavailable
from .hook import FHIR_ID
from .hook import FhirAccess
from .hook import parse_patient

__all__ = ["PatientReader", "patient_ids"]

NO_RECORD = frozenset({404, 410})


class PatientReader:
    """Reads ``Patient/{id}`` with the EHR's ``fhirAuthorization`` token.

    :param session: from :func:`smart_launch.http.make_session`.
    :param timeout: ``(connect, read)`` seconds; the EHR is waiting on the answer.
    """

    def __init__(
        self, session: requests.Session, timeout: tuple[float, float] = (1.0, 2.0)
    ) -> None:
        self._session = session
        self._timeout = timeout

    def read(self, access: FhirAccess, fhir_base: str, patient_id: str) -> dict[str, Any] | None:
        """The Patient, or ``None`` when the server says it does not exist (404 or 410).

        :param fhir_base: the tenant's registered FHIR base (normalised ``iss``).
        :raises PrefetchUnavailable: when ``access.server`` is not ``fhir_base`` (the token is
            then not sent at all) or the read fails.
        """
        try:
            same = normalize_iss(access.server) == fhir_base
        except IssuerNotAllowed:
            same = False
        if not same:
            raise PrefetchUnavailable(
                "fhirServer is not the FHIR server registered for this EHR, so Quietline did "
                "not use fhirAuthorization. Send prefetch.patient instead."
            )
        try:
            response = self._session.get(
                f"{fhir_base}/Patient/{patient_id}",
                headers={
                    "Authorization": f"Bearer {access.token}",
                    "Accept": "application/fhir+json",
                },
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise PrefetchUnavailable from exc
        if response.status_code in NO_RECORD:
            return None
        if response.status_code != 200:
            raise PrefetchUnavailable
        try:
            data = response.json()
        except ValueError as exc:
            raise PrefetchUnavailable from exc
        try:
            return parse_patient(data, "The Patient read from fhirServer")
        except InvalidRequest as exc:
            raise PrefetchUnavailable(exc.description) from exc


def _patient_id(reference: object, fhir_base: str) -> str | None:
    if not isinstance(reference, str):
        return None
    for prefix in ("Patient/", f"{fhir_base}/Patient/"):
        if reference.startswith(prefix):
            rest = reference.removeprefix(prefix)
            return rest if FHIR_ID.fullmatch(rest) else None
    return None


def _links(patient: dict[str, Any], kind: str, fhir_base: str) -> set[str]:
    found = set()
    for link in patient.get("link") or ():
        if link.get("type") == kind:
            target = _patient_id((link.get("other") or {}).get("reference"), fhir_base)
            if target is not None:
                found.add(target)
    return found


def patient_ids(patient: dict[str, Any], context_id: str, fhir_base: str) -> tuple[str, ...]:
    """The ids to check for ``context_id``: itself plus the records it was merged into.

    The Patient must be ``context_id``, or the surviving record that ``replaces`` it.  Its
    ``replaced-by`` links name the current record, whose word then applies too.

    :raises InvalidRequest: when the Patient is some other record.
    """
    found = patient.get("id")
    if found != context_id and context_id not in _links(patient, "replaces", fhir_base):
        raise InvalidRequest("The patient data does not match context.patientId.")
    ids = {context_id, str(found)} | _links(patient, "replaced-by", fhir_base)
    return tuple(sorted(ids))
