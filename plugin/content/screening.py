# SPDX-License-Identifier: Apache-2.0
"""Opening pattern check, fear and impact, and the optional HARK items.

Wording is Quietline's own. The opening follows the pattern check in SPARC's guidance
("Adapted from SPARC / T.K. Logan's SLII framework"); HARK (Sohal, Eldridge and Feder, 2007)
is re-worded here with its meaning kept, and coded with LOINC (panel 76499-3).
"""

from __future__ import annotations

from .model import FREQUENCIES
from .model import Item
from .model import Section

RELATIONSHIPS: tuple[tuple[str, str], ...] = (
    ("ex-partner", "Former partner (dating, married, lived together)"),
    ("partner", "Current partner"),
    ("family", "Family member"),
    ("acquaintance", "Someone they know (friend, acquaintance, online contact)"),
    ("co-worker", "Co-worker, manager, teacher or fellow student"),
    ("neighbour", "Neighbour"),
    ("stranger", "A stranger"),
    ("unknown", "Does not know who it is"),
)

STARTED: tuple[tuple[str, str], ...] = (
    ("under-1-month", "Less than a month ago"),
    ("1-6-months", "1 to 6 months ago"),
    ("6-12-months", "6 to 12 months ago"),
    ("1-2-years", "1 to 2 years ago"),
    ("over-2-years", "More than 2 years ago"),
)

HOW_OFTEN_NOW: tuple[tuple[str, str], ...] = (*FREQUENCIES, ("stopped", "It has stopped for now"))

WORRY_LEVELS: tuple[tuple[str, str], ...] = (
    ("worry-none", "Not worried"),
    ("worry-some", "Somewhat worried"),
    ("worry-very", "Very worried"),
    ("worry-extreme", "Extremely worried"),
    ("worry-not-said", "Did not want to say"),
)

OPENING = Section(
    key="opening",
    title="Opening: is there a pattern?",
    intro=(
        "People rarely use the word 'stalking'. They may say someone 'won't leave me alone'. "
        "Ask about the pattern in plain words; answers are yes, no, unsure or not asked."
    ),
    items=(
        Item(
            "opening.contact",
            "Is someone contacting you, following you or keeping tabs on you in ways you "
            "do not want?",
            "Includes messages, calls, turning up, watching, tracking and contact through "
            "other people.",
            "answer",
        ),
        Item(
            "opening.continued-after-no",
            "Has it carried on after you said no, or after you made it clear you wanted it "
            "to stop?",
            "Contact that continues after a clear 'no', a block or an order is part of the "
            "pattern.",
            "answer",
        ),
        Item(
            "opening.relationship",
            "Who is this person to you?",
            "Choose the closest. A former partner is the most common situation.",
            "choice",
            RELATIONSHIPS,
        ),
        Item(
            "opening.started",
            "When did it start?",
            "A rough range is enough.",
            "choice",
            STARTED,
        ),
        Item(
            "opening.frequency",
            "How often is it happening now?",
            "Count any kind of contact, watching or interference.",
            "choice",
            HOW_OFTEN_NOW,
        ),
        Item(
            "opening.worse",
            "Is it getting worse: more often, more kinds of behaviour, or more frightening?",
            "Escalation is one of the most dangerous times.",
            "answer",
        ),
        Item(
            "opening.court-orders",
            "Is there a court order or court case between you (protection order, no-contact "
            "order, criminal case, custody case)?",
            None,
            "answer",
        ),
        Item(
            "opening.shared-children",
            "Do you share children with this person?",
            "Shared custody and handovers keep contact going.",
            "answer",
        ),
        Item(
            "opening.shared-work-school",
            "Do you share a workplace, school, building or neighbourhood with them?",
            "Shared places and social circles make it hard to avoid the person.",
            "answer",
        ),
        Item(
            "opening.authority",
            "Do they have authority over you, at work, at school, in the community or in "
            "your family?",
            "For example a supervisor, teacher, official, officer or family elder.",
            "answer",
        ),
    ),
)

FEAR = Section(
    key="fear",
    title="Fear and impact, in the client's own words",
    intro=(
        "Record what the client fears in their own terms. Fear does not always show: people "
        "may seem calm, numb or angry while being very afraid."
    ),
    items=(
        Item(
            "fear.own-words",
            "In your own words, what are you most worried they might do?",
            "Write it as the client says it.",
            "text",
            max_length=1000,
        ),
        Item(
            "fear.physical-harm",
            "How worried are you that they will physically hurt you or someone close to you?",
            "Record the client's own answer even when they appear calm. People who are being "
            "stalked may show no emotion, or anger, rather than fear; a calm manner is not a "
            "sign of low risk.",
            "choice",
            WORRY_LEVELS,
        ),
        Item(
            "fear.others-at-risk",
            "Is there anyone else you worry about, such as children, family, a new partner or "
            "pets?",
            None,
            "text",
            max_length=500,
        ),
        Item(
            "fear.impact",
            "Is this affecting your sleep, mood, health, or how you get through the day?",
            "Anxiety, poor sleep, nightmares, low mood, always being on guard, and physical "
            "symptoms such as headaches or chest pain are common.",
            "answer",
        ),
        Item(
            "fear.life-changes",
            "Have you had to change your life because of this, such as moving, changing your "
            "number, taking time off work or changing routes?",
            None,
            "answer",
        ),
        Item(
            "fear.withdrawn",
            "Have you pulled back from friends, family or activities because of this?",
            "People often do this out of embarrassment, to avoid the person, or to protect others.",
            "answer",
        ),
        Item(
            "fear.substance-use",
            "Have you been drinking or using other substances more to cope?",
            None,
            "answer",
        ),
        Item(
            "fear.suicidal-thoughts",
            "Has any of this brought thoughts of ending your life, or of not wanting to be alive?",
            "If yes or unsure, follow your service's suicide-risk assessment today.",
            "answer",
        ),
    ),
)

HARK_ANSWERS: tuple[tuple[str, str], ...] = (("LA33-6", "Yes"), ("LA32-8", "No"))
HARK_PANEL_LOINC = "76499-3"

HARK = Section(
    key="hark",
    title="HARK (optional, enabled by your organisation)",
    intro=(
        "Four questions about the past year, from HARK (Sohal, Eldridge and Feder, 2007), "
        "worded here in plain language with the same meaning. Yes or no only."
    ),
    items=(
        Item(
            "hark.humiliated",
            "In the past year, has a partner or ex-partner humiliated you or abused you "
            "emotionally in other ways?",
            None,
            "choice",
            HARK_ANSWERS,
            loinc="76500-8",
        ),
        Item(
            "hark.afraid",
            "In the past year, have you been afraid of a partner or ex-partner?",
            None,
            "choice",
            HARK_ANSWERS,
            loinc="76501-6",
        ),
        Item(
            "hark.raped",
            "In the past year, has a partner or ex-partner raped you or forced you into any "
            "kind of sexual activity?",
            None,
            "choice",
            HARK_ANSWERS,
            loinc="76502-4",
        ),
        Item(
            "hark.kicked",
            "In the past year, has a partner or ex-partner kicked, hit, slapped or otherwise "
            "physically hurt you?",
            None,
            "choice",
            HARK_ANSWERS,
            loinc="76503-2",
        ),
    ),
)
