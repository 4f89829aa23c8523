# SPDX-License-Identifier: Apache-2.0
"""Fresh SoftHSM2 tokens for tests.

SoftHSM2 reads ``SOFTHSM2_CONF`` when the library is initialised, and python-pkcs11 loads a
library once per process.  So :func:`configure` writes one ``softhsm2.conf`` (token folder in a
temporary directory) per test session and sets ``SOFTHSM2_CONF`` for the process;
:meth:`SoftHsm.create_token` then initialises a new token with ``softhsm2-util`` and
re-initialises the already-loaded library (``C_Finalize`` + ``C_Initialize``) so it sees the new
slot.  Open sessions do not survive that; ``HsmKeyProvider`` reopens its session on next use.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pkcs11

__all__ = ["HsmToken", "SoftHsm", "SoftHsmMissing", "configure", "find_library"]

LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
INSTALL_HINT = "Install it with `apt-get install softhsm2` (Debian/Ubuntu)."


class SoftHsmMissing(RuntimeError):
    """SoftHSM2 (the utility or the library) is not installed."""


@dataclass(frozen=True)
class HsmToken:
    """A freshly initialised token: what ``HsmKeyProvider`` needs."""

    library: str
    label: str
    pin: str = field(repr=False)
    so_pin: str = field(repr=False)


def find_library() -> str:
    """:returns: the SoftHSM2 PKCS#11 module.  :raises SoftHsmMissing: when none is installed."""
    override = os.environ.get("SOFTHSM2_LIBRARY")
    for candidate in ((override,) if override else ()) + LIBRARIES:
        if Path(candidate).is_file():
            return candidate
    raise SoftHsmMissing(f"The SoftHSM2 library libsofthsm2.so was not found. {INSTALL_HINT}")


@dataclass
class SoftHsm:
    """One SoftHSM2 configuration (token folder) for the test session."""

    root: Path
    util: str
    library: str

    @property
    def conf(self) -> Path:
        return self.root / "softhsm2.conf"

    def create_token(self, label: str | None = None) -> HsmToken:
        """Initialise a new token in a free slot and make the loaded library see it.

        :param label: the token label (random when None).
        :raises SoftHsmMissing: when ``softhsm2-util`` fails.
        """
        token = HsmToken(
            library=self.library,
            label=label or f"qt-{secrets.token_hex(4)}",
            pin=secrets.token_hex(4),
            so_pin=secrets.token_hex(4),
        )
        command = [self.util, "--init-token", "--free", "--label", token.label]
        command += ["--so-pin", token.so_pin, "--pin", token.pin]
        env = {**os.environ, "SOFTHSM2_CONF": str(self.conf)}
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise SoftHsmMissing(f"softhsm2-util --init-token failed: {result.stderr.strip()}")
        pkcs11.lib(self.library).reinitialize()  # pick up the new slot
        return token


def configure(root: Path) -> SoftHsm:
    """Write ``softhsm2.conf`` under ``root`` and point ``SOFTHSM2_CONF`` at it.

    :param root: an empty temporary folder.
    :raises SoftHsmMissing: when ``softhsm2-util`` or the library is not installed.
    """
    util = shutil.which("softhsm2-util")
    if util is None:
        raise SoftHsmMissing(f"softhsm2-util is not on PATH. {INSTALL_HINT}")
    library = find_library()
    tokens = root / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    (root / "softhsm2.conf").write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n",
        encoding="utf-8",
    )
    os.environ["SOFTHSM2_CONF"] = str(root / "softhsm2.conf")
    return SoftHsm(root=root, util=util, library=library)
