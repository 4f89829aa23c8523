# SPDX-License-Identifier: Apache-2.0
"""Building the configured key provider and the start-up check."""

from __future__ import annotations

from pathlib import Path

import pkcs11
import pytest

from plugin.crypto.factory import build_key_provider
from plugin.crypto.factory import open_key_provider
from plugin.crypto.factory import startup_check
from plugin.crypto.interfaces import KeyProviderUnavailable
from plugin.crypto.local import LocalKeyProvider
from plugin.crypto.pkcs11 import HsmKeyProvider
from tests.support.softhsm import HsmToken
from tests.support.softhsm import SoftHsm


def test_local(tmp_path: Path) -> None:
    provider = open_key_provider("local", path=tmp_path / "keys.json")

    assert isinstance(provider, LocalKeyProvider)
    assert provider.name == "local"


def test_pkcs11(softhsm_token: HsmToken) -> None:
    provider = open_key_provider(
        "pkcs11",
        library=softhsm_token.library,
        token_label=softhsm_token.label,
        pin=softhsm_token.pin,
    )

    assert isinstance(provider, HsmKeyProvider)
    provider.close()


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("vault", {}, "Unknown key backend 'vault'; use one of local, pkcs11"),
        ("local", {}, "needs a key file path"),
        ("pkcs11", {}, "needs a library, a token label, a PIN"),
        ("pkcs11", {"library": "/x.so", "token_label": "t"}, "needs a PIN"),
        (
            "pkcs11",
            {"library": "/nonexistent.so", "token_label": "t", "pin": "1"},
            "library /nonexistent.so does not exist",
        ),
    ],
)
def test_misconfiguration_is_unavailable_with_a_clear_message(
    kind: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(KeyProviderUnavailable, match=message):
        build_key_provider(kind, **options)  # type: ignore[arg-type]


def test_startup_check_refuses_a_widened_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    provider = build_key_provider("local", path=path)
    path.chmod(0o644)
    path.touch()

    with pytest.raises(KeyProviderUnavailable, match="chmod 600"):
        startup_check(provider)


def test_startup_check_of_a_token_that_went_away(softhsm: SoftHsm, softhsm_token: HsmToken) -> None:
    provider = build_key_provider(
        "pkcs11",
        library=softhsm_token.library,
        token_label=softhsm_token.label,
        pin=softhsm_token.pin,
    )
    folder = next(
        path.parent
        for path in (softhsm.root / "tokens").glob("*/token.object")
        if softhsm_token.label.encode() in path.read_bytes()
    )
    hidden = softhsm.root / f"away-{folder.name}"
    folder.rename(hidden)
    try:
        pkcs11.lib(softhsm_token.library).reinitialize()  # the HSM restarts without the token

        with pytest.raises(KeyProviderUnavailable, match="has no token"):
            startup_check(provider)
    finally:
        hidden.rename(folder)
        pkcs11.lib(softhsm_token.library).reinitialize()
    startup_check(provider)  # back again: the provider reconnects
    assert isinstance(provider, HsmKeyProvider)
    provider.close()
