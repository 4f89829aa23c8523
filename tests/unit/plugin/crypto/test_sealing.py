# SPDX-License-Identifier: Apache-2.0
"""AES-256-GCM sealing bound to a purpose and to associated data; lookup hashes."""

from __future__ import annotations

import hashlib
import os

import pytest

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.crypto import lookup_hash

KEY = bytes(range(32))
AAD = b"row-1"
SECRET = b"refresh-token-value"


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(KEY, "launch")


def test_seal_and_open_round_trip(sealer: Sealer) -> None:
    blob = sealer.seal(SECRET, aad=AAD)

    assert sealer.open(blob, aad=AAD) == SECRET
    assert SECRET not in blob
    assert blob[:1] == b"\x01"
    assert len(blob) == 1 + 12 + len(SECRET) + 16


def test_sealing_twice_gives_different_blobs(sealer: Sealer) -> None:
    first = sealer.seal(SECRET, aad=AAD)
    second = sealer.seal(SECRET, aad=AAD)

    assert first != second
    assert sealer.open(second, aad=AAD) == SECRET


def test_empty_plaintext_round_trips(sealer: Sealer) -> None:
    assert sealer.open(sealer.seal(b"", aad=AAD), aad=AAD) == b""


def test_wrong_aad_is_refused(sealer: Sealer) -> None:
    blob = sealer.seal(SECRET, aad=AAD)

    with pytest.raises(SealError):
        sealer.open(blob, aad=b"row-2")


@pytest.mark.parametrize("index", [0, 1, 12, 13, -1])
def test_any_flipped_bit_is_refused(sealer: Sealer, index: int) -> None:
    blob = bytearray(sealer.seal(SECRET, aad=AAD))
    blob[index] ^= 0x01

    with pytest.raises(SealError):
        sealer.open(bytes(blob), aad=AAD)


@pytest.mark.parametrize("length", [0, 1, 13, 28, -1])
def test_truncated_blob_is_refused(sealer: Sealer, length: int) -> None:
    blob = sealer.seal(SECRET, aad=AAD)

    with pytest.raises(SealError):
        sealer.open(blob[:length], aad=AAD)


def test_other_key_is_refused(sealer: Sealer) -> None:
    blob = sealer.seal(SECRET, aad=AAD)

    with pytest.raises(SealError):
        Sealer(os.urandom(32), "launch").open(blob, aad=AAD)


def test_other_purpose_is_refused(sealer: Sealer) -> None:
    blob = sealer.seal(SECRET, aad=AAD)

    with pytest.raises(SealError):
        Sealer(KEY, "tenant-secret").open(blob, aad=AAD)


def test_seal_error_asks_for_a_relaunch() -> None:
    error = SealError()

    assert error.status_code == 401
    assert error.relaunch is True
    assert "launch" in error.description


def test_lookup_hash_is_stable_and_not_the_input() -> None:
    value = "state-" + os.urandom(16).hex()

    digest = lookup_hash(value)

    assert digest == lookup_hash(value)
    assert digest == hashlib.sha256(value.encode()).hexdigest()
    assert len(digest) == 64
    assert value not in digest
    assert lookup_hash(value + "x") != digest
