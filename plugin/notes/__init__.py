# SPDX-License-Identifier: Apache-2.0
"""Minimal notes: the composer that drafts them and the linter that guards them."""

from .composer import NoteFacts
from .composer import compose
from .linter import Finding
from .linter import SignDecision
from .linter import finding_id
from .linter import lint
from .linter import review

__all__ = ["Finding", "NoteFacts", "SignDecision", "compose", "finding_id", "lint", "review"]
