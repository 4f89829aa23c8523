# SPDX-License-Identifier: Apache-2.0
"""Code-word verification before appointment changes: protocol, enrollment, verification,
single-use grants, appointment writes and bypass detection."""
