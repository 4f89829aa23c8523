# SPDX-License-Identifier: Apache-2.0
"""The one card Quietline returns, and card ids any replica can check without a table.

CDS Hooks 2.0 "Card Attributes": ``summary`` REQUIRED, "<140-character summary message";
``indicator`` REQUIRED; ``source`` REQUIRED with ``label``; ``uuid`` "SHALL be included in any
subsequent calls to the CDS service's feedback endpoint"; a ``smart`` link's ``appContext``
reaches the app in the token response.  Front-desk staff, and anyone at their shoulder, read the
card: its words say "verification", never why a client asked for it (see :data:`UNSAID`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

__all__ = [
    "DETAIL",
    "LINK_LABEL",
    "SUMMARY",
    "UNSAID",
    "CardIds",
    "verification_card",
]

SUMMARY = "Verification required before this appointment is booked or changed"
DETAIL = (
    "Verify the caller before booking, moving or cancelling an appointment for this "
    "client.\n\n"
    "Open **Verify the caller in Quietline** and follow the steps there. "
    "If the caller cannot be verified, make no change."
)
LINK_LABEL = "Verify the caller in Quietline"
SOURCE = {
    "label": "Quietline",
    "topic": {
        "system": "urn:quietline:cds",
        "code": "caller-verification",
        "display": "Caller verification",
    },
}
UNSAID = (
    "stalk",
    "abuse",
    "violence",
    "danger",
    "safety",
    "threat",
    "harass",
    "victim",
    "domestic",
)
"""Stems that must never appear in anything a card shows."""

_KEY_LABEL = b"q/cds-card-id/v1"


class CardIds:
    """Card ``uuid`` values that carry their own proof of origin.

    A UUIDv8 (RFC 9562 section 5.8): 60 random bits, the version and variant, and 62 bits of
    HMAC-SHA256 over the tenant and the random part, keyed from the app's secret key.  Feedback
    for a card Quietline never issued (or issued to another tenant) fails the check.
    """

    def __init__(self, secret_key: bytes) -> None:
        self._key = hmac.new(secret_key, _KEY_LABEL, hashlib.sha256).digest()

    def _mac(self, tenant: str, nonce: bytes) -> bytes:
        message = tenant.encode() + b"|" + nonce
        return hmac.new(self._key, message, hashlib.sha256).digest()[:8]

    def issue(self, tenant: str) -> str:
        nonce = bytearray(secrets.token_bytes(8))
        nonce[6] = 0x80 | (nonce[6] & 0x0F)  # version 8
        mac = bytearray(self._mac(tenant, bytes(nonce)))
        mac[0] = 0x80 | (mac[0] & 0x3F)  # RFC 9562 variant
        return str(uuid.UUID(bytes=bytes(nonce + mac)))

    def is_ours(self, tenant: str, value: str) -> bool:
        try:
            raw = uuid.UUID(value).bytes
        except ValueError:
            return False
        nonce, mac = raw[:8], bytearray(self._mac(tenant, raw[:8]))
        mac[0] = 0x80 | (mac[0] & 0x3F)
        return (nonce[6] >> 4) == 8 and hmac.compare_digest(bytes(mac), raw[8:])


def verification_card(
    card_id: str, launch_url: str, appointment_id: str | None, action: str
) -> dict[str, Any]:
    """The critical card with a SMART link to the verification screen.

    ``appContext`` names the first proposed appointment (when it has an id) and the action to
    verify; keys without a value are left out, as CDS Hooks allows no nulls.
    """
    verify: dict[str, str] = {"action": action}
    if appointment_id:
        verify["appointment"] = appointment_id
    return {
        "uuid": card_id,
        "summary": SUMMARY,
        "detail": DETAIL,
        "indicator": "critical",
        "source": SOURCE,
        "links": [
            {
                "label": LINK_LABEL,
                "url": launch_url,
                "type": "smart",
                "appContext": json.dumps({"verify": verify}, separators=(",", ":")),
            }
        ],
    }
