# SPDX-License-Identifier: Apache-2.0
"""The vault: clinical records kept only encrypted, with retention and crypto-shredding."""

from .models import VaultRecord
from .services import VaultService

__all__ = ["VaultRecord", "VaultService"]
