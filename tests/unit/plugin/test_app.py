# SPDX-License-Identifier: Apache-2.0
"""The app refuses to start without a working key provider, with a clear message."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from plugin.app import create_app
from plugin.config import Settings
from plugin.crypto.interfaces import KeyProvider
from plugin.errors import ConfigurationError
from plugin.registry import get_service
from tests.support.softhsm import HsmToken


def test_group_readable_key_file_stops_startup(settings: Settings, tmp_path: Path) -> None:
    key_file = tmp_path / "kek" / "keys.json"
    key_file.parent.mkdir()
    key_file.write_text('{"keys": {}}', encoding="utf-8")
    os.chmod(key_file, 0o644)  # noqa: PTH101
    with pytest.raises(ConfigurationError, match="Key provider"):
        create_app(dataclasses.replace(settings, key_file=key_file))


def test_missing_pkcs11_library_stops_startup(settings: Settings) -> None:
    broken = dataclasses.replace(
        settings, key_backend="pkcs11", pkcs11_library="/nonexistent/libnothing.so",
        pkcs11_token="quietline", pkcs11_pin="1234",
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="Key provider") as caught:
        create_app(broken)
    assert "1234" not in str(caught.value)


def test_wrong_pkcs11_pin_stops_startup_without_echoing_it(
    settings: Settings, softhsm_token: HsmToken
) -> None:
    broken = dataclasses.replace(
        settings, key_backend="pkcs11", pkcs11_library=softhsm_token.library,
        pkcs11_token=softhsm_token.label, pkcs11_pin="99999999",
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="Key provider") as caught:
        create_app(broken)
    assert "99999999" not in str(caught.value)


def test_pkcs11_provider_serves_the_app(settings: Settings, softhsm_token: HsmToken) -> None:
    app = create_app(
        dataclasses.replace(
            settings,
            key_backend="pkcs11",
            pkcs11_library=softhsm_token.library,
            pkcs11_token=softhsm_token.label,
            pkcs11_pin=softhsm_token.pin,
        )
    )
    provider = get_service(KeyProvider, app)
    assert provider.name != "local"
    provider.check()
    assert app.test_client().get("/readyz").status_code == 200
