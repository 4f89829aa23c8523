# SPDX-License-Identifier: Apache-2.0
"""Build the configured key provider and prove it works before the app serves anything."""

from __future__ import annotations

from pathlib import Path

from .interfaces import KeyProvider
from .interfaces import KeyProviderError
from .interfaces import KeyProviderUnavailable
from .local import LocalKeyProvider

__all__ = ["KEY_BACKENDS", "build_key_provider", "open_key_provider", "startup_check"]

KEY_BACKENDS = ("local", "pkcs11")


def build_key_provider(
    kind: str,
    *,
    path: Path | None = None,
    library: str | None = None,
    token_label: str | None = None,
    pin: str | None = None,
) -> KeyProvider:
    """Create the provider named by ``kind``.

    :param kind: ``"local"`` (needs ``path``) or ``"pkcs11"`` (needs ``library``,
        ``token_label`` and ``pin``).
    :param path: the local key file.
    :param library: the PKCS#11 module path.
    :param token_label: the HSM token's label.
    :param pin: the HSM user PIN.
    :raises KeyProviderUnavailable: for an unknown kind, a missing setting, or a provider that
        cannot be opened (the message names the setting or the failure, never the PIN).
    """
    if kind == "local":
        if path is None:
            raise KeyProviderUnavailable("The local key provider needs a key file path.")
        return LocalKeyProvider(Path(path))
    if kind == "pkcs11":
        if not library or not token_label or not pin:
            missing = [
                name
                for name, value in (
                    ("library", library),
                    ("token label", token_label),
                    ("PIN", pin),
                )
                if not value
            ]
            raise KeyProviderUnavailable(
                "The pkcs11 key provider needs a " + ", a ".join(missing) + "."
            )
        if not Path(library).is_file():
            raise KeyProviderUnavailable(f"The PKCS#11 library {library} does not exist.")
        from .pkcs11 import HsmKeyProvider  # noqa: PLC0415 - loads the native module on demand

        return HsmKeyProvider(library, token_label, pin)
    raise KeyProviderUnavailable(
        f"Unknown key backend {kind!r}; use one of {', '.join(KEY_BACKENDS)}."
    )


def startup_check(provider: KeyProvider) -> None:
    """Prove ``provider`` works (a wrap/unwrap round trip); call before serving.

    :raises KeyProviderUnavailable: with a clear message when it does not.
    """
    try:
        provider.check()
    except KeyProviderUnavailable:
        raise
    except KeyProviderError as exc:
        raise KeyProviderUnavailable(
            f"The {provider.name} key provider failed its start-up check: {exc.description}"
        ) from exc
    except OSError as exc:
        raise KeyProviderUnavailable(
            f"The {provider.name} key provider failed its start-up check: {exc.strerror}."
        ) from exc


def open_key_provider(
    kind: str,
    *,
    path: Path | None = None,
    library: str | None = None,
    token_label: str | None = None,
    pin: str | None = None,
) -> KeyProvider:
    """:func:`build_key_provider` then :func:`startup_check`.

    :raises KeyProviderUnavailable: when the provider is misconfigured or unreachable.
    """
    provider = build_key_provider(
        kind, path=path, library=library, token_label=token_label, pin=pin
    )
    startup_check(provider)
    return provider
