# SPDX-License-Identifier: Apache-2.0
"""Acceptance, part 2: safety-planning elements, extra factors and times, education points and
hotlines that the SPARC seed guide names in running text rather than in bulleted lists.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

# Elements the seed names in running text rather than in a bulleted list.
SEED_PROSE: tuple[tuple[str, str, str], ...] = (
    ("suicidal ideation or behavior", "harm.suicidal-thoughts", "suicidal"),
    ("suicidal ideation or behavior", "fear.suicidal-thoughts", "ending your life"),
    ("preserve any evidence, such as emails, text messages, or gifts", "log.evidence", "gifts"),
    ("daily safety check", "plan.support-system.daily-check", "daily"),
    ("work backward from a moment of harm", "plan.physical.warning-signs", "just before"),
    ("identify any potential warning signs", "plan.physical.warning-signs", "warn"),
    ("how the stalker might react to changes", "plan.physical.their-reaction", "react"),
    ("rehearse the steps", "plan.physical.rehearse", "practise"),
    ("trusted people they can share the plan with", "plan.physical.rehearse", "share the plan"),
    ("take a different route to school or work", "plan.physical.already-doing", "different route"),
    ("temporarily stay with a friend", "plan.physical.already-doing", "staying with a friend"),
    ("change the locks", "plan.physical.already-doing", "locks"),
    (
        "family and friends, children, school, work, and daily routine",
        "plan.physical.daily-routine",
        "routine",
    ),
    ("let every call from the stalker go to voicemail", "plan.physical.contact", "voicemail"),
    ("share custody of minor children", "plan.physical.contact", "handovers"),
    ("financial safety planning guidance", "plan.financial", "financial safety-planning"),
    (
        "victim advocate who is well-versed in financial safety planning",
        "plan.financial.referral",
        "advocate",
    ),
    (
        "how to safely communicate with their support system",
        "plan.support-system.safe-contact",
        "safely",
    ),
    (
        "wish to keep people safe by not involving them",
        "plan.support-system.concerns",
        "keep them safe",
    ),
    (
        "predetermined code word for any appointment changes",
        "plan.ehr-contacts.code-word",
        "code word",
    ),
    (
        "virtual sessions are conducted in secure environments",
        "plan.technology.sessions",
        "virtual sessions",
    ),
    ("monitored device, shared or compromised accounts", "plan.technology.accounts", "shared"),
    ("installed spyware on the device", "plan.technology.devices", "spyware"),
    ("notes app, email, or cloud storage", "plan.technology.accounts", "cloud storage"),
    ("automatically sent via text or email", "plan.ehr-contacts.notifications", "record updates"),
    ("safety planning does not guarantee safety", "plan-no-guarantee", "never guarantees"),
    (
        "stalkers may attempt to impersonate clients",
        "life-invasion.posing-as-client",
        "pretending to be",
    ),
    ("stalkers may attempt to impersonate clients", "continued.targets-care", "impersonated"),
    ("may minimize individual stalking behaviors", "minimising", "play down"),
    ("they are not overreacting", "not-overreacting", "not overreacting"),
    ("reduce the shame and self-blame", "self-blame", "self-blame"),
    ("stalking is a crime", "crime", "crime"),
    (
        "ask the client if they would feel safe taking printed materials",
        "PRINT_SAFETY_QUESTION",
        "printed",
    ),
    (
        "should not include any information that they do not want the stalker to access",
        "log-contents",
        "feelings",
    ),
    (
        "escalate their behavior when the person they are stalking disengages",
        "time.disengaging",
        "cutting contact",
    ),
    ("reporting stalking can cause the stalker to escalate", "time.reporting", "reporting"),
    ("fear the day their stalker is released", "time.release", "released"),
    ("when a protection order expires", "time.order-expiry", "expire"),
    ("1-800-799-7233", "hotline:1-800-799-7233", "24 hours"),
    ("1-800-656-4673", "hotline:1-800-656-4673", "24 hours"),
    ("1-855-484-2846", "hotline:1-855-484-2846", "victimconnect"),
)


@pytest.mark.parametrize(
    ("phrase", "content_id", "word"), SEED_PROSE, ids=[f"{r[1]}:{r[2]}" for r in SEED_PROSE]
)
def test_seed_prose_elements_are_covered(
    seed: str, covered: Callable[[str, str, str], None], phrase: str, content_id: str, word: str
) -> None:
    assert phrase in seed, f"mapping phrase {phrase!r} is not in the seed"
    covered(phrase, content_id, word)
