# SPDX-License-Identifier: Apache-2.0
"""Writes made with the clinician's own token while the launch that queued them is live.

SMART App Launch 2.2 gives the app a user-level token for the launch; a write made with it is
recorded by the EHR as the user's, not the app's.  The worker opens the launch without a
browser binding (:meth:`plugin.launch.store.SqlLaunchStore.open_for_delivery`) and lets
:class:`~plugin.launch.services.LaunchService` refresh its token when needed.  A launch whose
granted scopes do not allow the create (``Communication`` for a practitioner, a ``Provenance``
about an appointment under ``patient/`` scopes) is not used: Backend Services writes it.
"""

from __future__ import annotations

from typing import Protocol

from fhir.resources.R4B.resource import Resource

from smart_launch.fhir import FhirClient
from smart_launch.scopes import ScopeSet

from ..launch.store import LiveLaunch
from .interfaces import ResourceCreator

__all__ = ["LaunchOpener", "LaunchUserClients", "may_create"]


class LaunchOpener(Protocol):
    """Opens a live launch by handle, with no browser (:class:`SqlLaunchStore`)."""

    def open_for_delivery(self, handle: str) -> LiveLaunch | None:
        """The launch while live, else ``None``."""
        ...


class LaunchFhir(Protocol):
    """A FHIR client with a launch's refreshing token (:class:`LaunchService`)."""

    def fhir(self, live: LiveLaunch) -> FhirClient:
        """The client for ``live``."""
        ...


def _patient_references(resource: Resource) -> set[str]:
    found: set[str] = set()
    for name in ("subject", "patient"):
        value = getattr(resource, name, None)
        reference = getattr(value, "reference", None)
        if isinstance(reference, str):
            found.add(reference)
    return found


def may_create(live: LiveLaunch, resource: Resource) -> bool:
    """Whether the launch's granted scopes let it create ``resource``.

    A ``user/`` grant covers any instance; a ``patient/`` grant only one about the launch's
    patient (its ``subject`` or ``patient``).
    """
    scopes = ScopeSet(live.context.scopes)
    resource_type = resource.get_resource_type()
    if scopes.allows(resource_type, "c", context="user"):
        return True
    patient = live.context.patient
    if patient is None or not scopes.allows(resource_type, "c"):
        return False
    return f"Patient/{patient}" in _patient_references(resource)


class LaunchUserClients:
    """:class:`~plugin.outbox.interfaces.UserClients` over the launch store and service."""

    def __init__(self, launches: LaunchOpener, service: LaunchFhir) -> None:
        self._launches = launches
        self._service = service

    def for_launch(self, handle: str, tenant: str, resource: Resource) -> ResourceCreator | None:
        live = self._launches.open_for_delivery(handle)
        if live is None or live.context.tenant != tenant or not may_create(live, resource):
            return None
        return self._service.fhir(live)
