# SPDX-License-Identifier: Apache-2.0
"""Envelope encryption: per-record data keys, AAD binding, integrity errors, re-wrapping."""

from __future__ import annotations

import dataclasses

import pytest

from plugin.crypto.envelope import EnvelopeCipher
from plugin.crypto.envelope import RecordAad
from plugin.crypto.envelope import Sealed
from plugin.crypto.envelope import VaultIntegrityError
from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProvider

KEK = "q/t1/p/2031-05/v1"
AAD = RecordAad("t1", "rec-1", "screening", "ab" * 32)
TEXT = b"CANARY-screening-answers " * 40


def _with(sealed: Sealed, part: str, value: bytes) -> Sealed:
    return dataclasses.replace(sealed, **{part: value})  # type: ignore[arg-type]


@pytest.fixture
def sealed(provider: KeyProvider, cipher: EnvelopeCipher) -> Sealed:
    provider.create_key(KEK)
    return cipher.seal(TEXT, kek_label=KEK, aad=AAD)


def test_seal_and_open(cipher: EnvelopeCipher, sealed: Sealed) -> None:
    assert sealed.kek_label == KEK
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(TEXT) + 16
    assert b"CANARY" not in sealed.ciphertext + sealed.wrapped_dek
    assert "CANARY" not in repr(sealed)
    assert cipher.open(sealed, aad=AAD) == TEXT


def test_every_record_gets_its_own_data_key_and_nonce(
    cipher: EnvelopeCipher, sealed: Sealed
) -> None:
    again = cipher.seal(TEXT, kek_label=KEK, aad=AAD)

    assert again.wrapped_dek != sealed.wrapped_dek
    assert again.nonce != sealed.nonce
    assert again.ciphertext != sealed.ciphertext


@pytest.mark.parametrize("field", ["tenant", "record_id", "record_type", "patient_pseudonym"])
def test_open_with_other_context_fails(cipher: EnvelopeCipher, sealed: Sealed, field: str) -> None:
    other = dataclasses.replace(AAD, **{field: getattr(AAD, field) + "x"})

    with pytest.raises(VaultIntegrityError, match="does not belong"):
        cipher.open(sealed, aad=other)


def test_aad_encoding_is_unambiguous() -> None:
    one = RecordAad("t1", "a|b", "c", "d").to_bytes()
    two = RecordAad("t1|a", "b", "c", "d").to_bytes()
    three = RecordAad("t1", "a", "b|c", "d").to_bytes()

    assert len({one, two, three}) == 3
    assert RecordAad("t1", "a", "b", "d").to_bytes() == RecordAad("t1", "a", "b", "d").to_bytes()


@pytest.mark.parametrize(
    ("part", "index"),
    [("ciphertext", 0), ("ciphertext", -1), ("nonce", 0), ("wrapped_dek", 7)],
)
def test_tampering_is_an_integrity_error(
    cipher: EnvelopeCipher, sealed: Sealed, part: str, index: int
) -> None:
    value = bytearray(getattr(sealed, part))
    value[index] ^= 0x80

    with pytest.raises(VaultIntegrityError):
        cipher.open(_with(sealed, part, bytes(value)), aad=AAD)


@pytest.mark.parametrize(
    ("part", "length"),
    [("ciphertext", 10), ("ciphertext", 0), ("ciphertext", -1), ("nonce", 8), ("wrapped_dek", 32)],
)
def test_truncation_is_an_integrity_error(
    cipher: EnvelopeCipher, sealed: Sealed, part: str, length: int
) -> None:
    value = getattr(sealed, part)[:length]

    with pytest.raises(VaultIntegrityError):
        cipher.open(_with(sealed, part, value), aad=AAD)


def test_record_under_another_key_is_an_integrity_error(
    provider: KeyProvider, cipher: EnvelopeCipher, sealed: Sealed
) -> None:
    provider.create_key("q/t1/p/2031-06/v1")

    with pytest.raises(VaultIntegrityError, match="does not authenticate"):
        cipher.open(dataclasses.replace(sealed, kek_label="q/t1/p/2031-06/v1"), aad=AAD)


def test_destroyed_key_is_key_destroyed(
    provider: KeyProvider, cipher: EnvelopeCipher, sealed: Sealed
) -> None:
    provider.destroy_key(KEK)

    with pytest.raises(KeyDestroyed):
        cipher.open(sealed, aad=AAD)
    with pytest.raises(KeyDestroyed):
        cipher.seal(TEXT, kek_label=KEK, aad=AAD)


def test_rewrap_changes_only_the_wrapped_key(
    provider: KeyProvider, cipher: EnvelopeCipher, sealed: Sealed
) -> None:
    provider.create_key("q/t1/p/2031-05/v2")

    moved = cipher.rewrap(sealed, "q/t1/p/2031-05/v2")
    provider.destroy_key(KEK)

    assert moved.kek_label == "q/t1/p/2031-05/v2"
    assert (moved.nonce, moved.ciphertext) == (sealed.nonce, sealed.ciphertext)
    assert cipher.open(moved, aad=AAD) == TEXT


def test_empty_record(cipher: EnvelopeCipher, sealed: Sealed) -> None:
    empty = cipher.seal(b"", kek_label=KEK, aad=AAD)

    assert cipher.open(empty, aad=AAD) == b""
