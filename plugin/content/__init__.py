# SPDX-License-Identifier: Apache-2.0
"""Quietline's versioned clinical content: screening, risk review, safety planning, handouts.

All wording is Quietline's own. Adapted from SPARC / T.K. Logan's SLII framework; HARK is
embedded with LOINC codes. See docs/content.md for sources, licence rules and versioning.
"""

from __future__ import annotations

from .actions import ACTION_PROMPTS
from .actions import HOTLINES
from .actions import SHARP_URL
from .actions import TRIGGER_KEYWORDS
from .actions import known_trigger_ids
from .actions import prompts_for
from .education import DOCUMENTATION_LOG_FIELDS
from .education import EDUCATION_PROMPTS
from .education import PRINT_OPTIONS
from .education import PRINT_SAFETY_QUESTION
from .fhir import QUESTIONNAIRES
from .fhir import SECTIONS
from .fhir import all_questionnaires
from .fhir import canonical_url
from .fhir import code_system
from .fhir import questionnaire
from .handouts import DISCREET_BANNED_WORDS
from .handouts import handout
from .integrity import screening_items
from .model import ANSWER_CHOICES
from .model import ANSWER_DISPLAY
from .model import ANSWER_SYSTEM
from .model import ANSWERS
from .model import CANONICAL_BASE
from .model import CONCERN_LEVELS
from .model import CONTENT_VERSION
from .model import FACTOR_STATES
from .model import FREQUENCIES
from .model import LOINC_SYSTEM
from .model import RECENCIES
from .model import ActionPrompt
from .model import ContentError
from .model import Handout
from .model import Hotline
from .model import Item
from .model import PlanSection
from .model import PreMark
from .model import Prompt
from .model import RiskDomain
from .model import RiskFactor
from .model import Section
from .model import frequency_link_id
from .model import recency_link_id
from .planning import IF_THEN_EXAMPLES
from .planning import SAFETY_PLAN
from .risk import SPJ_LABEL
from .screening import FEAR
from .screening import HARK
from .screening import OPENING
from .slii import SLII
from .violence import DANGEROUS_TIMES
from .violence import RISK_DOMAINS

__all__ = [
    "ACTION_PROMPTS",
    "ANSWERS",
    "ANSWER_CHOICES",
    "ANSWER_DISPLAY",
    "ANSWER_SYSTEM",
    "CANONICAL_BASE",
    "CONCERN_LEVELS",
    "CONTENT_VERSION",
    "DANGEROUS_TIMES",
    "DISCREET_BANNED_WORDS",
    "DOCUMENTATION_LOG_FIELDS",
    "EDUCATION_PROMPTS",
    "FACTOR_STATES",
    "FEAR",
    "FREQUENCIES",
    "HARK",
    "HOTLINES",
    "IF_THEN_EXAMPLES",
    "LOINC_SYSTEM",
    "OPENING",
    "PRINT_OPTIONS",
    "PRINT_SAFETY_QUESTION",
    "QUESTIONNAIRES",
    "RECENCIES",
    "RISK_DOMAINS",
    "SAFETY_PLAN",
    "SECTIONS",
    "SHARP_URL",
    "SLII",
    "SPJ_LABEL",
    "TRIGGER_KEYWORDS",
    "ActionPrompt",
    "ContentError",
    "Handout",
    "Hotline",
    "Item",
    "PlanSection",
    "PreMark",
    "Prompt",
    "RiskDomain",
    "RiskFactor",
    "Section",
    "all_questionnaires",
    "canonical_url",
    "code_system",
    "frequency_link_id",
    "handout",
    "known_trigger_ids",
    "prompts_for",
    "questionnaire",
    "recency_link_id",
    "screening_items",
]
