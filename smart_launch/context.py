# SPDX-License-Identifier: Apache-2.0
"""The launch context an app works in, without any secret.

SMART App Launch 2.2, "Launch context arrives with your access_token":
https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["LaunchContext"]


@dataclass(frozen=True)
class LaunchContext:
    """Who launched, for which client, with what access.  Holds no token or secret.

    :param tenant: the app's tenant (EHR registration) id.
    :param iss: the FHIR base URL the app was launched from.
    :param patient: the patient id in context, if any.
    :param encounter: the encounter id in context, if any.
    :param fhir_user: absolute URL of the user's FHIR resource, from the id_token.
    :param scopes: the scopes actually granted.
    :param launch_type: ``"ehr"`` or ``"standalone"``.
    :param app_context: the token response's ``appContext`` string, as the EHR sent it (for
        example from a CDS Hooks SMART link).  It may name records: never put it into a URL or
        a log line.
    """

    tenant: str
    iss: str
    patient: str | None
    encounter: str | None
    fhir_user: str | None
    scopes: tuple[str, ...]
    need_patient_banner: bool
    smart_style_url: str | None
    launch_type: str = "ehr"
    app_context: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaunchContext:
        return cls(
            tenant=str(data["tenant"]),
            iss=str(data["iss"]),
            patient=data.get("patient"),
            encounter=data.get("encounter"),
            fhir_user=data.get("fhir_user"),
            scopes=tuple(data.get("scopes", ())),
            need_patient_banner=bool(data.get("need_patient_banner", False)),
            smart_style_url=data.get("smart_style_url"),
            launch_type=str(data.get("launch_type", "ehr")),
            app_context=_string_or_none(data.get("app_context")),
        )

    @property
    def fhir_user_type(self) -> str | None:
        """``Practitioner``, ``PractitionerRole``, ``Patient``, ``RelatedPerson`` or ``Person``."""
        if not self.fhir_user:
            return None
        parts = self.fhir_user.rstrip("/").split("/")
        return parts[-2] if len(parts) >= 2 else None

    @property
    def fhir_user_reference(self) -> str | None:
        """The relative ``Type/id`` form of :attr:`fhir_user`."""
        if not self.fhir_user:
            return None
        parts = self.fhir_user.rstrip("/").split("/")
        return "/".join(parts[-2:]) if len(parts) >= 2 else None


def _string_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
