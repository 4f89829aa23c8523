# SPDX-License-Identifier: Apache-2.0
"""The server's CapabilityStatement (``GET [base]/metadata``).

SMART App Launch 2.2, "Conformance": servers MAY advertise their endpoints in
``CapabilityStatement.rest.security`` with the ``oauth-uris`` extension
(http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris) and the
``SMART-on-FHIR`` service code (http://terminology.hl7.org/CodeSystem/restful-security-service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from .search_params import COMMON_PARAMS
from .search_params import RESOURCE_PARAMS

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["capability_statement"]

_INTERACTIONS = ("read", "vread", "update", "delete", "create", "search-type")
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_SEARCH_TYPES = {
    "token": "token",
    "reference": "reference",
    "date": "date",
    "string": "string",
    "uri": "uri",
    "id": "token",
}


def _resource_entry(resource_type: str) -> dict[str, Any]:
    params = {**COMMON_PARAMS, **RESOURCE_PARAMS[resource_type]}
    return {
        "type": resource_type,
        "interaction": [{"code": code} for code in _INTERACTIONS],
        "versioning": "versioned",
        "readHistory": True,
        "updateCreate": True,
        "conditionalCreate": True,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchParam": [
            {"name": name, "type": _SEARCH_TYPES[definition.kind]}
            for name, definition in params.items()
        ],
    }


def capability_statement(state: SandboxState) -> dict[str, Any]:
    """The CapabilityStatement of this sandbox instance."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2025-01-01",
        "publisher": "Quietline sandbox EHR",
        "kind": "instance",
        "software": {"name": "Quietline sandbox EHR", "version": "0.1.0"},
        "implementation": {"description": "Embedded SMART EHR", "url": state.config.fhir_base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": _OAUTH_URIS,
                            "extension": [
                                {
                                    "url": "authorize",
                                    "valueUri": state.config.authorization_endpoint,
                                },
                                {"url": "token", "valueUri": state.config.token_endpoint},
                            ],
                        }
                    ],
                },
                "resource": [_resource_entry(name) for name in RESOURCE_PARAMS],
            }
        ],
    }
