# SPDX-License-Identifier: Apache-2.0
"""SMART Backend Services clients for deferred EHR writes and background reads.

SMART App Launch 2.2, "Backend Services": the app authenticates as a client registered for
``client_credentials`` and is granted ``system/`` scopes.  Many EHRs register such a client
apart from the launch client; the tenant names it (:class:`plugin.tenants.BackendClient`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from smart_launch.backend import BackendServicesClient
from smart_launch.fhir import FhirClient
from smart_launch.http import make_session
from smart_launch.keys import ClientKeys
from smart_launch.scopes import ScopeSet

from .interfaces import NoDeliveryCredentials
from .interfaces import TenantDirectory

__all__ = ["DEFAULT_BACKEND_SCOPE", "backend_client_factory"]

DEFAULT_BACKEND_SCOPE = "system/DocumentReference.c system/Provenance.c"
"""The ``system/`` scopes the worker asks for; extend as more resource types are written."""


def backend_client_factory(
    tenants: TenantDirectory, keys: ClientKeys, scope: str = DEFAULT_BACKEND_SCOPE
) -> Callable[[str], FhirClient]:
    """FHIR clients authorised by SMART Backend Services, one per tenant registration.

    The tenant's separately registered backend client is used when it has one (its own client
    id, ``private_key_jwt`` with the app's keys or a client secret, and its ``system/`` scopes);
    otherwise the launch client's id and keys, but only where the tenant allows it.  Each
    client caches its short-lived ``system/`` token; a changed registration gets a new client.

    :param tenants: the tenant repository.
    :param keys: the app's signing keys (the EHR knows their public JWKS).
    :param scope: the ``system/`` scopes to request (those of them the tenant's backend client
        was granted, when it names its scopes).
    :raises NoDeliveryCredentials: (from the returned callable) when the tenant has no backend
        client and does not allow Backend Services on the launch client.
    """
    http = make_session()
    lock = threading.Lock()
    clients: dict[tuple[str, ...], FhirClient] = {}

    def client_for(tenant_id: str) -> FhirClient:
        view = tenants.by_id(tenant_id)
        backend = view.backend
        if backend is None and not view.backend_on_launch_client:
            raise NoDeliveryCredentials
        secret = tenants.backend_secret(view) if backend is not None else None
        if backend is not None:
            basic = backend.auth_method == "client_secret_basic"
            client_id, alg = backend.client_id, backend.signing_alg
            wanted = _within(scope, backend.scope)
        else:
            basic, client_id, alg, wanted = False, view.client_id, view.signing_alg, scope
        key = (view.id, view.iss, client_id, alg, wanted, secret or "")
        with lock:
            client = clients.get(key)
            if client is None:
                auth = BackendServicesClient(
                    view.iss,
                    client_id,
                    None if basic else keys,
                    wanted,
                    alg=alg,
                    session=http,
                    client_secret=secret if basic else None,
                )
                client = clients[key] = FhirClient(view.iss, auth, session=http)
            return client

    return client_for


def _within(wanted: str, registered: str) -> str:
    """The ``wanted`` scopes the registration covers; all it has when it covers none."""
    granted = ScopeSet.parse(registered)
    covered = [scope for scope in wanted.split() if granted.covers(scope)]
    return " ".join(covered) or registered
