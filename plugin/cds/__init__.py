# SPDX-License-Identifier: Apache-2.0
"""CDS Hooks 2.0 service: discovery, ``appointment-book`` and feedback.

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/) and the ``appointment-book`` hook of the CDS
Hooks library.  For a client with an enrolled code word, under a protocol that verifies
bookings or changes, the EHR gets one critical card whose SMART link opens Quietline's
verification screen; for everyone else ``{"cards": []}``.
"""

from .services import CdsService

__all__ = ["CdsService"]
