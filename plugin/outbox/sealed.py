# SPDX-License-Identifier: Apache-2.0
"""EHR identifiers on outbox rows, sealed with the row id (and column) as associated data.

A copy of the database alone then cannot link a patient pseudonym to the EHR's resources.
"""

from __future__ import annotations

from .interfaces import PayloadCipher
from .models import OutboxItem

__all__ = ["identifier_of", "launch_handle_of", "remote_id_of", "seal_for_row"]


def _row_aad(item_id: str, column: str) -> bytes:
    return f"quietline-outbox\x1f{item_id}\x1f{column}".encode()


def seal_for_row(cipher: PayloadCipher, item_id: str, column: str, value: str) -> bytes:
    """Seal ``value`` for one column of one row (the row id and column are the aad)."""
    return cipher.seal(value.encode(), aad=_row_aad(item_id, column))


def _open_for_row(
    cipher: PayloadCipher, item_id: str, column: str, blob: bytes | None
) -> str | None:
    if blob is None:
        return None
    return cipher.open(blob, aad=_row_aad(item_id, column)).decode()


def identifier_of(cipher: PayloadCipher, item: OutboxItem) -> str:
    """The idempotency identifier (or target reference), clear or opened."""
    if item.identifier_value is not None:
        return item.identifier_value
    return _open_for_row(cipher, item.id, "identifier", item.identifier_sealed) or ""


def remote_id_of(cipher: PayloadCipher, item: OutboxItem) -> str | None:
    """The EHR's id of the delivered resource, opened (or from a row delivered before sealing).

    :raises SealError: when the sealed value was tampered with or belongs to another row.
    """
    if item.remote_id is not None:
        return item.remote_id
    return _open_for_row(cipher, item.id, "remote_id", item.remote_id_sealed)


def launch_handle_of(cipher: PayloadCipher, item: OutboxItem) -> str | None:
    """The handle of the launch that queued the item, if it was queued from one."""
    return _open_for_row(cipher, item.id, "launch", item.launch_sealed)
