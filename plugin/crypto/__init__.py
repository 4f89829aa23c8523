# SPDX-License-Identifier: Apache-2.0
"""Cryptography used by Quietline: sealing of server-side secrets and lookup hashes."""

from .sealing import Sealer
from .sealing import SealError
from .sealing import lookup_hash

__all__ = ["SealError", "Sealer", "lookup_hash"]
