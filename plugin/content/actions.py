# SPDX-License-Identifier: Apache-2.0
"""Action prompts that follow from what the clinician marks, and the national hotlines.

Prompts are shown when any trigger is active; there are no numeric thresholds. Hotline numbers
and hours are as published nationally and must be verified locally before use.
"""

from __future__ import annotations

from .model import CONCERN_LEVELS
from .model import ActionPrompt
from .model import ContentError
from .model import Hotline
from .violence import DANGEROUS_TIMES
from .violence import RISK_DOMAINS

SHARP_URL = "https://www.sharp.stalkingawareness.org/"

HOTLINES: tuple[Hotline, ...] = (
    Hotline(
        name="VictimConnect Resource Center",
        phone="1-855-484-2846",
        text=None,
        url="https://chat.victimsofcrime.org/victim-connect/",
        hours="Weekdays, daytime Eastern time; online chat available (check current hours)",
    ),
    Hotline(
        name="National Domestic Violence Hotline",
        phone="1-800-799-7233",
        text="Text START to 88788",
        url="https://www.thehotline.org",
        hours="24 hours, every day",
    ),
    Hotline(
        name="RAINN National Sexual Assault Hotline",
        phone="1-800-656-4673",
        text=None,
        url="https://hotline.rainn.org/online",
        hours="24 hours, every day",
    ),
    Hotline(
        name="988 Suicide & Crisis Lifeline",
        phone="988",
        text="Call or text 988",
        url="https://988lifeline.org",
        hours="24 hours, every day",
    ),
)

_DOMAIN_KEYS = tuple(domain.key for domain in RISK_DOMAINS)
TRIGGER_KEYWORDS: frozenset[str] = frozenset(
    {"factor:any", "time:any"}
    | {f"domain:{key}" for key in _DOMAIN_KEYS}
    | {f"concern:{code}" for code, _ in CONCERN_LEVELS}
)
_CONCERN_ANY = tuple(f"concern:{code}" for code, _ in CONCERN_LEVELS)
_CONCERN_RAISED = ("concern:moderate", "concern:high")

ACTION_PROMPTS: tuple[ActionPrompt, ...] = (
    ActionPrompt(
        "advocate-handoff",
        "Offer a warm handoff, with the client's consent, to a local victim advocate who can "
        "do a formal risk assessment and plan for safety with them. Community-based advocates "
        "have confidentiality privileges and help whether or not the client reports.",
        ("factor:any", "time:any", *_CONCERN_ANY),
    ),
    ActionPrompt(
        "sharp-link",
        "Offer the free online SHARP assessment (link only). Suggest the client completes it "
        "with a support person present rather than alone, then plan from its report.",
        ("domain:violence", "domain:continued", "time:any", *_CONCERN_RAISED),
        url=SHARP_URL,
    ),
    ActionPrompt(
        "hotlines",
        "Give hotline numbers the client can use at any time, checking local 24-hour lines "
        "first, in a form that is safe for them to carry.",
        ("factor:any", "time:any", *_CONCERN_ANY),
    ),
    ActionPrompt(
        "suicide-follow-up",
        "Follow your service's suicide-risk assessment and safety-planning protocol today; "
        "share the 988 Lifeline (call or text).",
        ("harm.suicidal-thoughts", "concern:high"),
    ),
    ActionPrompt(
        "dangerous-time",
        "A dangerous time is present or coming up. Plan for it specifically with 'If this "
        "happens, I will do that' steps, and consider an advocate contact before the date.",
        ("time:any",),
    ),
    ActionPrompt(
        "firearms",
        "Firearms are involved. Discuss this with an advocate, who can explain how protection "
        "orders and local law deal with firearms.",
        ("violence.weapons", "harm.partner-firearms"),
    ),
    ActionPrompt(
        "safety-planning",
        "Work through the safety-planning aids with the client: physical, emotional, "
        "financial, support system with a daily check, technology, and record contacts.",
        ("factor:any", "time:any", *_CONCERN_ANY),
    ),
    ActionPrompt(
        "portal-proxy-review",
        "Review the client's portal access, proxies, emergency contacts and related persons "
        "in the record with them, and flag any entry that is the person causing harm.",
        ("factor:any", "continued.targets-care", "violence.technology", *_CONCERN_RAISED),
    ),
    ActionPrompt(
        "code-word",
        "Offer a code word that must be given before any appointment change, and tell staff "
        "to verify callers before sharing anything.",
        ("factor:any", "continued.targets-care", *_CONCERN_ANY),
    ),
    ActionPrompt(
        "notification-suppression",
        "Offer to stop appointment reminders and record updates by text, email or app, in "
        "case a device or account is shared or monitored.",
        ("factor:any", "violence.technology", "continued.targets-care", *_CONCERN_RAISED),
    ),
    ActionPrompt(
        "documentation-log",
        "Suggest the client keeps a log of incidents and evidence, stored outside the clinic "
        "record, somewhere the person cannot reach.",
        ("factor:any", "time:any"),
    ),
    ActionPrompt(
        "medical-follow-up",
        "Physical stress symptoms are present; suggest the client sees a medical professional.",
        ("harm.symptoms",),
    ),
)


def known_trigger_ids() -> frozenset[str]:
    """Every id or keyword an ActionPrompt trigger may name."""
    ids = {factor.id for domain in RISK_DOMAINS for factor in domain.factors}
    ids |= {time.id for time in DANGEROUS_TIMES}
    return frozenset(ids) | TRIGGER_KEYWORDS


def prompts_for(marked_factor_ids: set[str], concern: str | None) -> list[ActionPrompt]:
    """Action prompts for the marked factors/times and the overall concern, in display order.

    Raises ``ValueError`` for an unknown id or concern level (for example a stale form).
    """
    factor_domain = {f.id: d.key for d in RISK_DOMAINS for f in d.factors}
    time_ids = {time.id for time in DANGEROUS_TIMES}
    unknown = sorted(marked_factor_ids - factor_domain.keys() - time_ids)
    if unknown:
        raise ContentError(f"unknown risk factor ids: {', '.join(unknown)}")
    active = set(marked_factor_ids)
    if concern is not None:
        if concern not in dict(CONCERN_LEVELS):
            raise ContentError(f"unknown concern level {concern!r}")
        active.add(f"concern:{concern}")
    marked_factors = {fid for fid in marked_factor_ids if fid in factor_domain}
    if marked_factors:
        active.add("factor:any")
        active |= {f"domain:{factor_domain[fid]}" for fid in marked_factors}
    if marked_factor_ids & time_ids:
        active.add("time:any")
    return [prompt for prompt in ACTION_PROMPTS if active.intersection(prompt.triggers)]


def _check() -> None:
    known = known_trigger_ids()
    ids = [prompt.id for prompt in ACTION_PROMPTS]
    if len(set(ids)) != len(ids):
        raise ContentError("duplicate action prompt ids")
    for prompt in ACTION_PROMPTS:
        bad = [t for t in prompt.triggers if t not in known]
        if bad:
            raise ContentError(f"action prompt {prompt.id} has unknown triggers {bad}")


_check()
