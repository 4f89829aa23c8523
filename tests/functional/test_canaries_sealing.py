# SPDX-License-Identifier: Apache-2.0
"""The canary scan is not vacuous: with sealing turned into a pass-through that still
round-trips, the same flows and the same scan report the canaries in the database."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import RecordAad
from plugin.crypto.envelope import Sealed
from plugin.crypto.sealing import Sealer
from smart_launch.sandbox.server import RunningSandbox
from tests.functional.test_canaries import MINIMAL
from tests.functional.test_canaries import PROCESS
from tests.functional.test_canaries import Watch
from tests.functional.test_canaries import canary_patient
from tests.functional.test_canaries import launch_and_notes
from tests.functional.test_canaries import quietline_leaks
from tests.functional.test_canaries import sandbox_options
from tests.functional.test_canaries import second_clinician
from tests.functional.test_canaries import watch
from tests.support.servers import Quietline

__all__ = ["sandbox_options", "watch"]  # fixtures shared with the canary flows

_HEADER = 13  # version byte and nonce of a sealed blob
_TAG = 16


def _seal_in_clear(_self: Sealer, plaintext: bytes, *, aad: bytes) -> bytes:
    return b"\x01" + bytes(_HEADER - 1) + plaintext + bytes(_TAG)


def _open_in_clear(_self: Sealer, blob: bytes, *, aad: bytes) -> bytes:
    return blob[_HEADER:-_TAG]


def _envelope_in_clear(
    self: EnvelopeCipher, plaintext: bytes, *, kek_label: str, aad: RecordAad
) -> Sealed:
    wrapped = self.provider.wrap(kek_label, bytes(32))
    return Sealed(kek_label, wrapped, bytes(12), plaintext + bytes(_TAG))


def _unenvelope_in_clear(_self: EnvelopeCipher, sealed: Sealed, *, aad: RecordAad) -> bytes:
    return sealed.ciphertext[:-_TAG]


@pytest.fixture
def no_sealing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sealing and envelope encryption replaced by pass-throughs, before the app starts."""
    replacements: dict[str, Any] = {
        "plugin.crypto.sealing.Sealer.seal": _seal_in_clear,
        "plugin.crypto.sealing.Sealer.open": _open_in_clear,
        "plugin.crypto.envelope.EnvelopeCipher.seal": _envelope_in_clear,
        "plugin.crypto.envelope.EnvelopeCipher.open": _unenvelope_in_clear,
    }
    for target, replacement in replacements.items():
        monkeypatch.setattr(target, replacement)


def test_the_scan_reports_canaries_when_sealing_is_a_no_op(
    no_sealing: None, quietline: Quietline, sandbox: RunningSandbox, watch: Watch
) -> None:
    second_clinician(quietline)
    patient = canary_patient(sandbox)
    watch.browsers += launch_and_notes(quietline, sandbox, patient)

    leaks = quietline_leaks(quietline, sandbox, watch)

    assert leaks, "a pass-through sealer must be caught"
    in_database = {(leak.place.split(".")[0], leak.canary) for leak in leaks}
    assert ("database:vault_records", PROCESS) in in_database
    assert ("database:outbox_items", MINIMAL) in in_database
