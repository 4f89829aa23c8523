# SPDX-License-Identifier: Apache-2.0
"""The KeyProvider contract, run against LocalKeyProvider and HsmKeyProvider (SoftHSM2)."""

from __future__ import annotations

import secrets
import threading

import pytest

from plugin.crypto.envelope import as_key
from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.interfaces import KeyProviderError
from plugin.crypto.interfaces import KeyProviderUnavailable

KEK = "q/t1/p/2031-05/v1"
MAC = "q/pseudonym"


def test_check_passes(provider: KeyProvider) -> None:
    provider.check()


def test_create_has_labels_destroy(provider: KeyProvider) -> None:
    assert provider.labels() == []
    assert not provider.has_key(KEK)

    provider.create_key(KEK)
    provider.create_key("q/t1/p/2031-06/v1")
    provider.create_key(MAC, "hmac")

    assert provider.has_key(KEK)
    assert provider.labels() == [MAC, KEK, "q/t1/p/2031-06/v1"]
    assert provider.labels("q/t1/") == [KEK, "q/t1/p/2031-06/v1"]
    assert provider.labels("q/t2/") == []

    provider.destroy_key(KEK)
    provider.destroy_key(KEK)  # a missing label is not an error

    assert not provider.has_key(KEK)
    assert provider.labels("q/t1/") == ["q/t1/p/2031-06/v1"]


def test_create_refuses_an_existing_label(provider: KeyProvider) -> None:
    provider.create_key(KEK)

    with pytest.raises(KeyProviderError, match="already exists"):
        provider.create_key(KEK)
    with pytest.raises(KeyProviderError, match="already exists"):
        provider.create_key(KEK, "hmac")


@pytest.mark.parametrize("label", ["", "has space", "x" * 129, "caf\u00e9", "tab\there"])
def test_create_refuses_bad_labels(provider: KeyProvider, label: str) -> None:
    with pytest.raises(KeyProviderError, match="Invalid key label"):
        provider.create_key(label)


def test_wrap_unwrap_round_trip(provider: KeyProvider) -> None:
    provider.create_key(KEK)
    data_key = secrets.token_bytes(32)

    wrapped = provider.wrap(KEK, data_key)

    assert len(wrapped) == 40  # RFC 3394: one 64-bit integrity block more than the key
    assert data_key not in wrapped
    assert provider.unwrap(KEK, wrapped) == data_key
    assert provider.unwrap(KEK, provider.wrap(KEK, as_key(bytearray(data_key)))) == data_key


def test_wrap_refuses_a_data_key_that_is_not_32_bytes(provider: KeyProvider) -> None:
    provider.create_key(KEK)

    with pytest.raises(KeyProviderError, match="32 bytes"):
        provider.wrap(KEK, secrets.token_bytes(16))


def test_keys_differ_between_labels(provider: KeyProvider) -> None:
    provider.create_key(KEK)
    provider.create_key("q/t2/p/2031-05/v1")
    wrapped = provider.wrap(KEK, secrets.token_bytes(32))

    with pytest.raises(KeyProviderError):
        provider.unwrap("q/t2/p/2031-05/v1", wrapped)


def test_unwrap_after_destroy_is_key_destroyed(provider: KeyProvider) -> None:
    provider.create_key(KEK)
    wrapped = provider.wrap(KEK, secrets.token_bytes(32))

    provider.destroy_key(KEK)

    with pytest.raises(KeyDestroyed, match=KEK):
        provider.unwrap(KEK, wrapped)
    with pytest.raises(KeyDestroyed):
        provider.wrap(KEK, secrets.token_bytes(32))


def test_a_recreated_label_does_not_open_old_data(provider: KeyProvider) -> None:
    provider.create_key(KEK)
    wrapped = provider.wrap(KEK, secrets.token_bytes(32))
    provider.destroy_key(KEK)
    provider.create_key(KEK)

    with pytest.raises(KeyProviderError) as info:
        provider.unwrap(KEK, wrapped)
    assert not isinstance(info.value, KeyProviderUnavailable)


@pytest.mark.parametrize("damage", ["flip", "truncate", "extend", "empty"])
def test_unwrap_of_tampered_data_is_refused(provider: KeyProvider, damage: str) -> None:
    provider.create_key(KEK)
    wrapped = bytearray(provider.wrap(KEK, secrets.token_bytes(32)))
    if damage == "flip":
        wrapped[5] ^= 0x01
    elif damage == "truncate":
        del wrapped[-8:]
    elif damage == "extend":
        wrapped += b"\x00" * 8
    else:
        wrapped.clear()

    with pytest.raises(KeyProviderError) as info:
        provider.unwrap(KEK, bytes(wrapped))
    assert not isinstance(info.value, KeyDestroyed | KeyProviderUnavailable)


def test_derive_is_stable_and_label_and_context_specific(provider: KeyProvider) -> None:
    provider.create_key(MAC, "hmac")
    provider.create_key("q/audit", "hmac")

    first = provider.derive(MAC, b"t1|Patient/1")

    assert len(first) == 32
    assert provider.derive(MAC, b"t1|Patient/1") == first
    assert provider.derive(MAC, b"t1|Patient/2") != first
    assert provider.derive("q/audit", b"t1|Patient/1") != first


def test_derive_after_destroy_is_key_destroyed(provider: KeyProvider) -> None:
    provider.create_key(MAC, "hmac")
    provider.destroy_key(MAC)

    with pytest.raises(KeyDestroyed):
        provider.derive(MAC, b"x")


def test_kinds_are_enforced(provider: KeyProvider) -> None:
    provider.create_key(KEK, "aes")
    provider.create_key(MAC, "hmac")

    with pytest.raises(KeyProviderError, match="not an aes key"):
        provider.wrap(MAC, secrets.token_bytes(32))
    with pytest.raises(KeyProviderError, match="not an aes key"):
        provider.unwrap(MAC, secrets.token_bytes(40))
    with pytest.raises(KeyProviderError, match="not an hmac key"):
        provider.derive(KEK, b"x")
    with pytest.raises(KeyProviderError, match="Unknown key kind"):
        provider.create_key("q/other", "rsa")  # type: ignore[arg-type]


def test_concurrent_use_from_threads(provider: KeyProvider) -> None:
    provider.create_key(KEK)
    provider.create_key(MAC, "hmac")
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                key = secrets.token_bytes(32)
                assert provider.unwrap(KEK, provider.wrap(KEK, key)) == key
                provider.derive(MAC, f"{n}:{i}".encode())
            provider.create_key(f"q/thread/{n}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(provider.labels("q/thread/")) == 8
