# SPDX-License-Identifier: Apache-2.0
"""Acceptance: every risk factor, dangerous time, safety-planning element and documentation-log
field that the SPARC seed guide lists is present in the content.

Each seed list is cut out of the seed text between two markers and split on its bullets. Every
bullet must be claimed by at least one mapping row; every row's seed phrase must really be in
that list (so the mapping cannot drift from the seed); the row's content id must exist in the
content and its text must carry the row's content word. Elements named in running text are in
test_seed_prose.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plugin import content

# (name, start marker, end marker, rows of (seed phrase, content id, content word))
SEED_LISTS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "risk of continued or recurrent stalking",
        "risk factors that indicate the stalking will continue",
        "risk of psychological and social harm",
        (
            ("stalked by a former intimate partner", "continued.former-partner", "former"),
            (
                "history of abuse and violence towards the client",
                "continued.history-violence",
                "violence",
            ),
            (
                "the longer the duration and the greater the intensity",
                "continued.duration-intensity",
                "frequent",
            ),
            ("shared custody of children", "continued.reinforced-contact", "shared children"),
            ("shared work or living environment", "continued.reinforced-contact", "living nearby"),
            ("referred to as stalking by proxy", "continued.proxy", "other people"),
        ),
    ),
    (
        "risk of psychological and social harm",
        "risk factors that indicate the client will suffer",
        "risk of threats and violence",
        (
            ("repeatedly followed by the stalker", "harm.followed", "followed"),
            ("property theft or destruction", "harm.property", "stolen or destroyed"),
            ("who has access to firearms", "harm.partner-firearms", "firearms"),
            (
                "explicitly threatened, particularly threats with firearms",
                "harm.explicit-threats",
                "firearm",
            ),
            ("experience physical violence", "harm.physical-violence", "physical violence"),
            (
                "longer durations and greater intensity and frequency",
                "harm.duration-intensity",
                "long time",
            ),
        ),
    ),
    (
        "risk of threats and violence",
        "risk factors that are associated with a higher likelihood of violence",
        "the most dangerous times",
        (
            (
                "stalked by an intimate partner (current or former)",
                "violence.intimate-partner",
                "partner",
            ),
            ("frequently approaches the client in-person", "violence.in-person", "in person"),
            ("the stalker explicitly threatens the client", "violence.explicit-threats", "threats"),
            ("escalation in the stalker's behavior", "violence.escalation", "escalating"),
            ("towards the client and/or others", "violence.history-violence", "to others"),
            ("the stalker has a criminal history", "violence.criminal-history", "criminal"),
            ("access to weapons, particularly firearms", "violence.weapons", "firearms"),
            ("history of substance abuse", "violence.substance-abuse", "alcohol or drug"),
            ("experience/expertise with technology", "violence.technology", "technology"),
            ("controlling and/or jealous", "violence.controlling-jealous", "jealous"),
            ("blames the client", "violence.blame-revenge", "blames"),
            ("wants revenge", "violence.blame-revenge", "revenge"),
            (
                "does not care about severe consequences",
                "violence.blame-revenge",
                "prison or death",
            ),
            ("referred to as stalking by proxy", "violence.proxy", "other people"),
            ("the greater the risk of harm", "violence.duration-intensity", "long time"),
        ),
    ),
    (
        "most dangerous times",
        "the most dangerous times for a person being stalked are when",
        "mental health professionals should also consider making a referral to local",
        (
            ("separated from the stalker", "time.separation", "separated"),
            (
                "arrested or served with a protection order",
                "time.arrest-or-order",
                "protection order",
            ),
            ("major negative life event", "time.life-event", "losing a job"),
            ("increase in frequency or escalate in severity", "time.escalation", "more severe"),
        ),
    ),
    (
        "emotional safety planning",
        "help clients plan for emotional safety by:",
        "emotional safety planning can help remind",
        (
            ("identify triggers", "plan.emotional.triggers", "set off"),
            (
                "recognize the signs that they are experiencing a traumatic trigger",
                "plan.emotional.warning-signs",
                "triggered",
            ),
            (
                "mental and physical reactions to trauma triggers",
                "plan.emotional.reactions",
                "body",
            ),
            ("grounding techniques", "plan.emotional.grounding", "grounding"),
            ("practicing coping strategies", "plan.emotional.coping", "cope"),
            ("self-care practices", "plan.emotional.self-care", "recover"),
            (
                "who will provide emotional support",
                "plan.emotional.support-people",
                "emotional support",
            ),
        ),
    ),
    (
        "financial safety planning",
        "examples of financial abuse include",
        "planning for financial safety is part",
        (
            ("controlling how the client's money is spent", "plan.financial.control", "spent"),
            ("making all the client's financial decisions", "plan.financial.control", "decisions"),
            ("giving them an allowance", "plan.financial.withholding", "allowance"),
            (
                "not allowing the client to work, earn money, or go to school",
                "plan.financial.work-school",
                "sabotaged",
            ),
            (
                "forcing the client to work in an industry or location",
                "plan.financial.work-school",
                "do not want to",
            ),
            ("withholding basic living resources", "plan.financial.basic-needs", "medication"),
            (
                "stealing the client's money, identity, credit, property",
                "plan.financial.theft",
                "identity",
            ),
            (
                "sign over assets or fraudulent legal or tax documents",
                "plan.financial.theft",
                "sign over",
            ),
            (
                "destroying the client's credit or credibility",
                "plan.financial.credit",
                "credibility",
            ),
            ("public benefits office", "plan.financial.credit", "benefits office"),
        ),
    ),
    (
        "support system",
        "or a professional contact, including:",
        "for some clients, this exercise may be challenging",
        (
            ("siblings, cousins, aunts, and uncles", "plan.support-system.people", "cousins"),
            ("friends", "plan.support-system.people", "friends"),
            ("neighbors", "plan.support-system.people", "neighbours"),
            ("house of worship", "plan.support-system.people", "place of worship"),
            (
                "community, or professional groups",
                "plan.support-system.people",
                "professional groups",
            ),
            ("coworkers", "plan.support-system.people", "co-workers"),
            ("medical or legal professionals", "plan.support-system.people", "medical or legal"),
            ("victim advocates", "plan.support-system.people", "advocates"),
        ),
    ),
    (
        "effective safety planning",
        "effective safety planning is:",
        "to help clients safety plan effectively",
        (
            ("flexible:", "plan.physical", "flexible"),
            ("comprehensive:", "plan.physical", "every part of life"),
            ("contextual:", "plan.physical", "happened before"),
        ),
    ),
    (
        "how professionals help clients safety plan",
        "mental health professionals can: ",
        "check for local resources first",
        (
            (
                "listen and ask questions non-judgmentally",
                "plan.physical.goals",
                "without judgement",
            ),
            ("specific needs and goals", "plan.physical.goals", "goals"),
            ("discuss and analyze risks", "plan.physical.goals", "risks"),
            ("explore strategies and resources", "plan.physical.goals", "strategies"),
            ("provide information and options", "plan.physical.goals", "options"),
            ("24-hour hotline", "hotlines", "any time"),
        ),
    ),
    (
        "staying safe while documenting",
        "to stay safe while documenting behaviors",
        "documentation should include:",
        (
            ("digital documentation", "log-digital-safety", "spyware"),
            ("paper documentation", "log-paper-safety", "several places"),
        ),
    ),
    (
        "documentation log fields",
        "documentation should include:",
        "some clients may be reluctant to document",
        (
            ("date and time of incident", "log.date", "date"),
            ("date and time of incident", "log.time", "time"),
            ("both the technology used", "log.technology", "device"),
            ("physical location where the client was", "log.location", "where you were"),
            ("full names and contact information of any witnesses", "log.witnesses", "full names"),
            ("what agency and person the client reported to", "log.reported-to", "agency"),
            (
                "incident number if a police report was taken",
                "log.report-number",
                "incident number",
            ),
            ("brief description of what happened", "log.description", "what happened"),
        ),
    ),
)


DOMAIN_OF_LIST = {
    "risk of continued or recurrent stalking": "continued",
    "risk of psychological and social harm": "harm",
    "risk of threats and violence": "violence",
}


def _bullets(seed: str, start: str, end: str) -> list[str]:
    begin = seed.find(start)
    assert begin >= 0, f"start marker not in the seed: {start!r}"
    stop = seed.find(end, begin + len(start))
    assert stop >= 0, f"end marker not after the start marker in the seed: {end!r}"
    parts = seed[begin + len(start) : stop].split("\u2022")[1:]
    return [part.strip() for part in parts if part.strip()]


@pytest.mark.parametrize(
    ("name", "start", "end", "rows"), SEED_LISTS, ids=[s[0] for s in SEED_LISTS]
)
def test_every_seed_bullet_is_covered(
    seed: str,
    covered: Callable[[str, str, str], None],
    name: str,
    start: str,
    end: str,
    rows: tuple[tuple[str, str, str], ...],
) -> None:
    bullets = _bullets(seed, start, end)
    assert bullets, f"no bullets found for {name}"
    for phrase, _, _ in rows:
        assert any(phrase in bullet for bullet in bullets), (
            f"mapping phrase {phrase!r} is not in the seed's list '{name}'"
        )
    for bullet in bullets:
        assert any(phrase in bullet for phrase, _, _ in rows), (
            f"seed item under '{name}' is not mapped to content: {bullet[:90]!r}"
        )
    for row in rows:
        covered(*row)


def test_risk_lists_land_in_their_own_domain() -> None:
    domains: dict[str, set[str]] = {d.key: {f.id for f in d.factors} for d in content.RISK_DOMAINS}
    times = {t.id for t in content.DANGEROUS_TIMES}
    for name, _, _, rows in SEED_LISTS:
        for _, content_id, _ in rows:
            if name in DOMAIN_OF_LIST:
                assert content_id in domains[DOMAIN_OF_LIST[name]], (content_id, name)
            if name == "most dangerous times":
                assert content_id in times, content_id


def test_seed_list_sizes(seed: str) -> None:
    counts = {name: len(_bullets(seed, start, end)) for name, start, end, _ in SEED_LISTS}
    assert counts["risk of continued or recurrent stalking"] == 5
    assert counts["risk of psychological and social harm"] == 6
    assert counts["risk of threats and violence"] == 13
    assert counts["most dangerous times"] == 4
    assert counts["emotional safety planning"] == 7
    assert counts["financial safety planning"] == 8
    assert counts["support system"] == 8
    assert counts["documentation log fields"] == 5
    seed_times = sum(1 for t in content.DANGEROUS_TIMES if t.in_seed)
    assert seed_times >= counts["most dangerous times"]
