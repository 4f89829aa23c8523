# SPDX-License-Identifier: Apache-2.0
"""Stalking screening (SLII), risk review (professional judgement aid), safety planning."""
