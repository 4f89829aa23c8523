# SPDX-License-Identifier: Apache-2.0
"""Free-text answers the review tests type, and the words that must never reach the EHR.

The secrets are written into the screening and the safety plan; a test then checks that none of
them, and none of the ``BANNED`` words, is in what Quietline sent to the EHR.
"""

from __future__ import annotations

from plugin.content import FEAR
from plugin.content import SAFETY_PLAN

FEAR_TEXT = next(item for item in FEAR.items if item.kind == "text")
PLAN_TEXT = next(item for s in SAFETY_PLAN for item in s.prompts if item.kind == "text")
SECRET_FEAR = "afraid he will find the new flat on Juniper Road"
SECRET_PLAN = "keep spare keys with Aunt Rosalind"
BANNED = ("stalk", "abuse", "violen", "victim", "harass", "safety plan", "domestic")
