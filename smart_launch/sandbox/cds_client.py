# SPDX-License-Identifier: Apache-2.0
"""The EHR as a CDS Hooks 2.0 client: discovery, the ``appointment-book`` call and feedback.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/):

- discovery ``GET {base}`` lists ``services``; a service is called at ``{base}/{id}``;
- the request carries ``hook``, a fresh ``hookInstance``, ``context``, ``prefetch``, and
  ``fhirServer`` with ``fhirAuthorization`` (a bearer token the EHR's authorization server
  issued to the service, ``patient/Patient.r`` for the patient in context);
- ``appointment-book`` context: ``userId``, ``patientId`` and ``appointments``, a Bundle of
  the proposed Appointments;
- feedback ``POST {base}/{id}/feedback`` with ``accepted`` or ``overridden`` per card ``uuid``.

Every call has a JWT (:mod:`.cds_jwt`) and a 2-second timeout; a service that fails, is slow
or answers something unreadable is reported as not having answered, and the EHR goes on.
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

import requests

from smart_launch.http import make_session

from .cds_cards import Card
from .cds_cards import CardsInvalid
from .cds_cards import OverrideReason
from .cds_cards import parse_cards
from .grants import NewToken
from .models import Subject

if TYPE_CHECKING:
    from .cds_jwt import CdsSigningKey
    from .config import SandboxConfig
    from .grants import GrantStore
    from .store import ResourceStore

__all__ = [
    "APPOINTMENT_BOOK",
    "CDS_TIMEOUT",
    "FHIR_AUTHORIZATION_LIFETIME",
    "FHIR_AUTHORIZATION_SCOPE",
    "CdsClient",
    "CdsLog",
    "ServiceAnswer",
]

log = logging.getLogger("smart_launch.sandbox.cds")

APPOINTMENT_BOOK = "appointment-book"
CDS_TIMEOUT: tuple[float, float] = (2.0, 2.0)
"""(connect, read) seconds for every call to a CDS service."""
FHIR_AUTHORIZATION_SCOPE = "patient/Patient.r"
FHIR_AUTHORIZATION_LIFETIME = 300


class CdsLog:
    """What the EHR's CDS calls did, for tests: ``{service, call, status, cards}`` entries.

    ``status`` is the HTTP status, or ``"timeout"``/``"unreachable"``/``"invalid"``.  Nothing
    a card said is kept.
    """

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, service: str, call: str, status: int | str, cards: int = 0) -> None:
        with self._lock:
            self._entries.append(
                {"service": service, "call": call, "status": status, "cards": cards}
            )

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the entries, oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class ServiceAnswer:
    """One service's answer to a hook call; ``error`` set when it did not answer usably."""

    service: str
    cards: tuple[Card, ...] = ()
    error: str | None = None

    @property
    def feedback_url(self) -> str:
        return self.service + "/feedback"


class _CallFailed(Exception):
    def __init__(self, status: int | str) -> None:
        super().__init__(str(status))
        self.status = status


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CdsClient:
    """Calls the configured CDS services on behalf of the scheduling page."""

    def __init__(
        self,
        config: SandboxConfig,
        store: ResourceStore,
        grants: GrantStore,
        key: CdsSigningKey,
        *,
        session: requests.Session | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._grants = grants
        self._key = key
        self._session = session or make_session(CDS_TIMEOUT, pool_maxsize=8)
        self.log = CdsLog()

    # -- HTTP ------------------------------------------------------------------------------

    def _headers(self, audience: str) -> dict[str, str]:
        token = self._key.sign(
            issuer=self._config.root, jku=self._config.cds_jwks_uri, audience=audience
        )
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _send(self, method: str, url: str, call: str, body: object | None = None) -> Any:
        try:
            response = self._session.request(
                method,
                url,
                json=body,
                headers=self._headers(url),
                timeout=CDS_TIMEOUT,
                allow_redirects=False,
            )
        except requests.Timeout:
            self.log.add(url, call, "timeout")
            raise _CallFailed("timeout") from None
        except requests.RequestException:
            self.log.add(url, call, "unreachable")
            raise _CallFailed("unreachable") from None
        if response.status_code != 200:
            self.log.add(url, call, response.status_code)
            raise _CallFailed(response.status_code)
        try:
            return response.json()
        except ValueError:
            self.log.add(url, call, "invalid")
            raise _CallFailed("invalid") from None

    # -- the hook --------------------------------------------------------------------------

    def appointment_book(
        self, *, user_id: str, patient: dict[str, Any], appointment: dict[str, Any]
    ) -> tuple[ServiceAnswer, ...]:
        """Call ``appointment-book`` on every configured service with one proposed Appointment."""
        return tuple(
            self._call_one(base.rstrip("/"), user_id, patient, appointment)
            for base in self._config.cds_services
        )

    def _call_one(
        self, base: str, user_id: str, patient: dict[str, Any], appointment: dict[str, Any]
    ) -> ServiceAnswer:
        try:
            discovery = self._send("GET", base, "discovery")
        except _CallFailed as exc:
            log.info("CDS discovery at %s failed (%s)", base, exc.status)
            return ServiceAnswer(base, error=str(exc.status))
        service = _find_service(discovery)
        if service is None:
            self.log.add(base, "discovery", "no-service")
            return ServiceAnswer(base, error="no-service")
        self.log.add(base, "discovery", 200)
        endpoint = f"{base}/{service['id']}"
        body = self._request(service, user_id, patient, appointment)
        try:
            cards = parse_cards(self._send("POST", endpoint, "hook", body))
        except _CallFailed as exc:
            log.info("CDS call to %s failed (%s)", endpoint, exc.status)
            return ServiceAnswer(endpoint, error=str(exc.status))
        except CardsInvalid:
            self.log.add(endpoint, "hook", "invalid")
            log.info("CDS call to %s answered something unreadable", endpoint)
            return ServiceAnswer(endpoint, error="invalid")
        self.log.add(endpoint, "hook", 200, len(cards))
        return ServiceAnswer(endpoint, cards)

    def _request(
        self,
        service: dict[str, Any],
        user_id: str,
        patient: dict[str, Any],
        appointment: dict[str, Any],
    ) -> dict[str, Any]:
        patient_id = str(patient["id"])
        user_ref = f"Practitioner/{user_id}"
        context = {
            "userId": user_ref,
            "patientId": patient_id,
            "appointments": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": appointment}],
            },
        }
        prefetch: dict[str, Any] = {"patient": patient}
        templates = service.get("prefetch")
        if isinstance(templates, dict):
            for key, template in templates.items():
                if key not in prefetch and isinstance(template, str):
                    resolved = self._prefetch(template, user_ref, patient_id)
                    if resolved is not _NOT_FETCHED:
                        prefetch[key] = resolved
        return {
            "hook": APPOINTMENT_BOOK,
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": self._config.fhir_base,
            "fhirAuthorization": self._authorization(user_id, patient_id),
            "context": context,
            "prefetch": prefetch,
        }

    def _prefetch(self, template: str, user_ref: str, patient_id: str) -> object:
        """Resolve a read template (``Type/{{context.patientId}}``); searches are not fetched."""
        query = (
            template.replace("{{context.patientId}}", patient_id)
            .replace("{{context.userId}}", user_ref)
            .replace("{{userPractitionerId}}", user_ref.split("/", 1)[1])
        )
        parts = query.split("/")
        if "?" in query or "{{" in query or len(parts) != 2 or not all(parts):
            return _NOT_FETCHED
        stored = self._store.read(parts[0], parts[1])
        return None if stored is None or stored.deleted else stored.body

    def _authorization(self, user_id: str, patient_id: str) -> dict[str, Any]:
        """Issue the service a short ``patient/Patient.r`` token for this patient."""
        access_token = secrets.token_urlsafe(32)
        self._grants.save_token(
            NewToken(
                access_token=access_token,
                refresh_token=None,
                family=secrets.token_hex(16),
                client_id=self._config.cds_client_id,
                subject=Subject(user_id, patient_id),
                scope=FHIR_AUTHORIZATION_SCOPE,
                expires_in=FHIR_AUTHORIZATION_LIFETIME,
                refresh_lifetime=None,
            )
        )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": FHIR_AUTHORIZATION_LIFETIME,
            "scope": FHIR_AUTHORIZATION_SCOPE,
            "subject": self._config.cds_client_id,
            "patient": patient_id,
        }

    # -- feedback --------------------------------------------------------------------------

    def accepted(self, answer: ServiceAnswer, card: Card) -> None:
        """Tell the service the user followed ``card`` (its link)."""
        self._feedback(answer, card, {"outcome": "accepted", "acceptedSuggestions": []})

    def overridden(
        self, answer: ServiceAnswer, card: Card, reason: OverrideReason | None, comment: str
    ) -> None:
        """Tell the service the user went on against ``card``."""
        override: dict[str, Any] = {}
        if reason is not None:
            override["reason"] = reason.coding()
        if comment:
            override["userComment"] = comment
        item: dict[str, Any] = {"outcome": "overridden"}
        if override:
            item["overrideReason"] = override
        self._feedback(answer, card, item)

    def _feedback(self, answer: ServiceAnswer, card: Card, item: dict[str, Any]) -> None:
        if card.uuid is None:
            return  # feedback names cards by uuid; a card without one cannot be named
        body = {"feedback": [{"card": card.uuid, **item, "outcomeTimestamp": _now()}]}
        try:
            self._send("POST", answer.feedback_url, "feedback", body)
        except _CallFailed as exc:
            log.info("CDS feedback to %s failed (%s)", answer.feedback_url, exc.status)
            return
        self.log.add(answer.feedback_url, "feedback", 200)

    def close(self) -> None:
        self._session.close()


_NOT_FETCHED = object()


def _find_service(discovery: object) -> dict[str, Any] | None:
    if not isinstance(discovery, dict) or not isinstance(discovery.get("services"), list):
        return None
    for service in discovery["services"]:
        if (
            isinstance(service, dict)
            and service.get("hook") == APPOINTMENT_BOOK
            and isinstance(service.get("id"), str)
            and service["id"]
            and "/" not in service["id"]
        ):
            return service
    return None
