# SPDX-License-Identifier: Apache-2.0
"""Keyed pseudonyms: stable, tenant-bound, keyed by the provider, cached."""

from __future__ import annotations

import hashlib

import pytest

from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.pseudonyms import Pseudonymizer


def test_pseudonym_is_the_providers_hmac(provider: KeyProvider) -> None:
    pseudonyms = Pseudonymizer(provider)

    value = pseudonyms.pseudonym("t1", "Patient/123")

    assert provider.labels() == ["q/pseudonym"]
    assert value == provider.derive("q/pseudonym", b"t1|Patient/123").hex()
    assert len(value) == 64
    assert value != hashlib.sha256(b"t1|Patient/123").hexdigest()  # keyed, not a plain hash


def test_pseudonym_is_stable_and_tenant_specific(provider: KeyProvider) -> None:
    first = Pseudonymizer(provider).pseudonym("t1", "Patient/123")

    assert Pseudonymizer(provider).pseudonym("t1", "Patient/123") == first
    assert Pseudonymizer(provider).pseudonym("t2", "Patient/123") != first
    assert Pseudonymizer(provider).pseudonym("t1", "Patient/124") != first
    assert Pseudonymizer(provider, "q/other-pseudonym").pseudonym("t1", "Patient/123") != first


def test_an_existing_key_is_used_not_replaced(local_provider: LocalKeyProvider) -> None:
    local_provider.create_key("q/pseudonym", "hmac")
    expected = local_provider.derive("q/pseudonym", b"t1|Patient/1").hex()

    assert Pseudonymizer(local_provider).pseudonym("t1", "Patient/1") == expected


def test_cache_is_bounded_lru(local_provider: LocalKeyProvider) -> None:
    pseudonyms = Pseudonymizer(local_provider, cache_size=2)
    first = pseudonyms.pseudonym("t1", "Patient/1")
    pseudonyms.pseudonym("t1", "Patient/2")
    pseudonyms.pseudonym("t1", "Patient/1")  # most recent now
    pseudonyms.pseudonym("t1", "Patient/3")  # evicts Patient/2
    local_provider.destroy_key("q/pseudonym")
    local_provider.create_key("q/pseudonym", "hmac")  # cached values no longer match the key

    assert pseudonyms.pseudonym("t1", "Patient/1") == first  # served from the cache
    assert pseudonyms.pseudonym("t1", "Patient/2") == (
        local_provider.derive("q/pseudonym", b"t1|Patient/2").hex()
    )
    pseudonyms.clear()
    assert pseudonyms.pseudonym("t1", "Patient/1") != first


def test_ambiguous_tenant_is_refused(local_provider: LocalKeyProvider) -> None:
    with pytest.raises(ValueError, match="may not contain"):
        Pseudonymizer(local_provider).pseudonym("t1|x", "Patient/1")
