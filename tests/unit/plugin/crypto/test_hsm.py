# SPDX-License-Identifier: Apache-2.0
"""HsmKeyProvider on SoftHSM2: key attributes, failures mapped to clear errors, reconnection."""

from __future__ import annotations

import secrets

import pkcs11
import pytest
from pkcs11 import Attribute
from pkcs11 import ObjectClass

from plugin.crypto.interfaces import KeyProviderUnavailable
from plugin.crypto.pkcs11 import HsmKeyProvider
from tests.support.softhsm import HsmToken
from tests.support.softhsm import SoftHsm

KEK = "q/t1/p/2031-05/v1"


def test_keys_are_sensitive_non_extractable_token_objects(
    hsm_provider: HsmKeyProvider, softhsm_token: HsmToken
) -> None:
    hsm_provider.create_key(KEK)
    hsm_provider.create_key("q/pseudonym", "hmac")
    hsm_provider.close()  # logs out: PKCS#11 login state is per process
    token = pkcs11.lib(softhsm_token.library).get_token(token_label=softhsm_token.label)
    with token.open() as session:  # not logged in: the keys are private objects
        assert list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})) == []

    with token.open(user_pin=softhsm_token.pin) as session:
        kek = session.get_key(label=KEK)
        mac = session.get_key(label="q/pseudonym")
        assert [kek[a] for a in (Attribute.TOKEN, Attribute.SENSITIVE, Attribute.PRIVATE)] == [
            True,
            True,
            True,
        ]
        assert [kek[a] for a in (Attribute.WRAP, Attribute.UNWRAP)] == [True, True]
        assert [kek[a] for a in (Attribute.EXTRACTABLE, Attribute.ENCRYPT, Attribute.DECRYPT)] == [
            False,
            False,
            False,
        ]
        assert [mac[Attribute.SIGN], mac[Attribute.WRAP]] == [True, False]
        assert [kek[Attribute.VALUE_LEN], mac[Attribute.VALUE_LEN]] == [32, 32]
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            kek[Attribute.VALUE]


def test_wrong_pin_is_unavailable(softhsm_token: HsmToken) -> None:
    with pytest.raises(KeyProviderUnavailable, match="refused the PIN") as info:
        HsmKeyProvider(softhsm_token.library, softhsm_token.label, "0000wrong")

    assert "0000wrong" not in str(info.value)
    assert isinstance(info.value.__cause__, pkcs11.exceptions.PinIncorrect)


def test_wrong_pin_is_refused_while_another_provider_is_logged_in(
    hsm_provider: HsmKeyProvider, softhsm_token: HsmToken
) -> None:
    with pytest.raises(KeyProviderUnavailable, match="refused the PIN"):
        HsmKeyProvider(softhsm_token.library, softhsm_token.label, "0000wrong")

    hsm_provider.check()  # the logged-in session is untouched


def test_missing_library_is_unavailable(softhsm: SoftHsm) -> None:
    with pytest.raises(KeyProviderUnavailable, match=r"Cannot open token .*/nonexistent/lib\.so"):
        HsmKeyProvider("/nonexistent/lib.so", "any", "1234")


def test_missing_token_is_unavailable(softhsm: SoftHsm) -> None:
    with pytest.raises(KeyProviderUnavailable, match="The HSM has no token 'no-such-token'"):
        HsmKeyProvider(softhsm.library, "no-such-token", "1234")


def test_providers_for_one_token_share_the_login(softhsm_token: HsmToken) -> None:
    one = HsmKeyProvider(softhsm_token.library, softhsm_token.label, softhsm_token.pin)
    two = HsmKeyProvider(softhsm_token.library, softhsm_token.label, softhsm_token.pin)
    one.create_key(KEK)
    wrapped = one.wrap(KEK, b"k" * 32)

    one.close()

    assert two.unwrap(KEK, wrapped) == b"k" * 32
    two.close()
    with pytest.raises(KeyProviderUnavailable, match="closed"):
        two.has_key(KEK)


def test_reconnects_after_the_library_was_reset(
    hsm_provider: HsmKeyProvider, softhsm_token: HsmToken
) -> None:
    hsm_provider.create_key(KEK)
    wrapped = hsm_provider.wrap(KEK, b"k" * 32)

    pkcs11.lib(softhsm_token.library).reinitialize()  # every session is gone, as after a restart

    assert hsm_provider.unwrap(KEK, wrapped) == b"k" * 32


def test_wrapped_form_is_plain_rfc3394(hsm_provider: HsmKeyProvider) -> None:
    hsm_provider.create_key(KEK)
    key = secrets.token_bytes(32)

    wrapped = hsm_provider.wrap(KEK, key)

    assert len(wrapped) == 40
    assert hsm_provider.wrap(KEK, key) == wrapped  # deterministic, as RFC 3394 is
