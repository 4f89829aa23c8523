# SPDX-License-Identifier: Apache-2.0
"""Withholding a note from the patient portal needs a recorded basis.

45 CFR 171.201 (preventing harm): an individualised determination by a licensed clinician with a
relationship to the patient, no broader than necessary, with the type of harm named.
45 CFR 171.202(e) (the individual's own request not to share): documented, not induced.
Either way Quietline records who, when, the scope and a review date; without one, withholding is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..errors import PluginError

__all__ = ["BASES", "HARMS", "SCOPES", "ReleaseBasisError", "ReleaseDecision", "decide"]

BASES = {
    "171.201": "A licensed clinician's individual determination that release could cause harm",
    "171.202": "The client's own request not to share this note through the portal",
}
HARMS = {
    "life-or-safety": "Danger to the life or physical safety of the client or another person",
    "substantial-harm": (
        "Substantial harm to the client or another person (proxy or representative access)"
    ),
}
SCOPES = {
    "this-note": "This note only",
    "episode": "This note and later notes until the review date",
}


class ReleaseBasisError(PluginError):
    error = "release_basis_missing"
    description = "To withhold the note from the portal, record the basis, scope and review date."
    status_code = 400


@dataclass(frozen=True)
class ReleaseDecision:
    withheld: bool
    basis: str | None = None
    harm: str | None = None
    scope: str | None = None
    review_on: date | None = None
    client_request_uninduced: bool = False

    def as_record(self, *, decided_by: str, decided_at: str) -> dict[str, object]:
        return {
            "withheld": self.withheld,
            "basis": self.basis,
            "harm": self.harm,
            "scope": self.scope,
            "review_on": self.review_on.isoformat() if self.review_on else None,
            "client_request_uninduced": self.client_request_uninduced,
            "decided_by": decided_by,
            "decided_at": decided_at,
        }


def decide(
    *,
    release: str,
    basis: str | None,
    harm: str | None,
    scope: str | None,
    review_on: str | None,
    uninduced: bool,
    today: date,
) -> ReleaseDecision:
    """Validate the clinician's choice.

    :raises ReleaseBasisError: withholding without a complete basis.
    """
    if release == "release":
        return ReleaseDecision(withheld=False)
    if release != "withhold":
        raise ReleaseBasisError("Choose whether the note may be released to the portal.")
    if basis not in BASES:
        raise ReleaseBasisError
    if scope not in SCOPES:
        raise ReleaseBasisError("Choose what the withholding covers.")
    try:
        review = date.fromisoformat(review_on or "")
    except ValueError:
        raise ReleaseBasisError("Give a review date for the withholding.") from None
    if review <= today:
        raise ReleaseBasisError("The review date must be in the future.")
    if basis == "171.201" and harm not in HARMS:
        raise ReleaseBasisError("Name the type of harm the determination is about.")
    if basis == "171.202" and not uninduced:
        raise ReleaseBasisError(
            "Confirm the client asked for this themselves, without being prompted."
        )
    return ReleaseDecision(
        withheld=True,
        basis=basis,
        harm=harm if basis == "171.201" else None,
        scope=scope,
        review_on=review,
        client_request_uninduced=uninduced,
    )
