# SPDX-License-Identifier: Apache-2.0
"""Risk of threats and violence, and the most dangerous times (SPARC guide, paraphrased).

Adapted from SPARC / T.K. Logan's SLII framework. Factors with ``in_seed=False`` come from the
general literature and say so.
"""

from __future__ import annotations

from .model import PreMark
from .model import RiskDomain
from .model import RiskFactor
from .risk import CONTINUED
from .risk import HARM

_V = "SPARC guide, Risk of threats and violence"
_T = "SPARC guide, the most dangerous times"
_LIT = "Not in the SPARC guide: general stalking-risk literature (domain research 5a)"
_YES = frozenset({"yes"})


def _said(link_id: str, quote: str, answers: frozenset[str] = _YES) -> PreMark:
    return PreMark(link_id, answers, f"Marked because the client said yes to '{quote}'")


_LONG = PreMark(
    "opening.started",
    frozenset({"1-2-years", "over-2-years"}),
    "Marked because the client said it started more than a year ago",
)
_OFTEN = PreMark(
    "opening.frequency",
    frozenset({"daily"}),
    "Marked because the client said it happens daily or more often",
)
_WORSE = _said("opening.worse", "getting worse")

VIOLENCE = RiskDomain(
    key="violence",
    title="Risk of threats and violence",
    factors=(
        RiskFactor(
            "violence.intimate-partner",
            "The person is a current or former intimate partner",
            f"{_V}: stalking by a current or former intimate partner",
            (
                PreMark(
                    "opening.relationship",
                    frozenset({"ex-partner", "partner"}),
                    "Marked because the client said the person is a current or former partner",
                ),
            ),
        ),
        RiskFactor(
            "violence.in-person",
            "The person often approaches the client in person",
            f"{_V}: frequent in-person approaches",
            (_said("life-invasion.turning-up", "turning up uninvited"),),
        ),
        RiskFactor(
            "violence.explicit-threats",
            "The person has made explicit threats to the client",
            f"{_V}: explicit threats",
            (
                _said("intimidation.threats-harm", "threats to hurt you"),
                _said("intimidation.weapon-threats", "threatened with a weapon"),
            ),
        ),
        RiskFactor(
            "violence.escalation",
            "The behaviour is escalating",
            f"{_V}: escalation in the behaviour",
            (_WORSE,),
        ),
        RiskFactor(
            "violence.history-violence",
            "The person has been abusive or violent to the client or to others",
            f"{_V}: a history of abuse and violence towards the client and/or others",
            (
                _said("interference.physical", "physically hurt you"),
                _said("interference.sexual", "forced or pressured sexual contact"),
                _said("interference.harm-others", "hurt someone close to you"),
            ),
        ),
        RiskFactor(
            "violence.criminal-history",
            "The person has a criminal record or history",
            f"{_V}: criminal history",
        ),
        RiskFactor(
            "violence.weapons",
            "The person has access to weapons, especially firearms",
            f"{_V}: access to weapons, particularly firearms",
            (
                _said("intimidation.weapon-access", "has or can get a weapon"),
                _said("intimidation.weapon-threats", "threatened with a weapon"),
            ),
        ),
        RiskFactor(
            "violence.substance-abuse",
            "The person has a history of alcohol or drug misuse",
            f"{_V}: a history of substance abuse",
        ),
        RiskFactor(
            "violence.technology",
            "The person is skilled with technology",
            f"{_V}: experience or expertise with technology",
            (
                PreMark(
                    "surveillance.devices",
                    _YES,
                    "Marked because the client thinks the person gets into their devices or "
                    "accounts, which can point to technical skill",
                ),
                PreMark(
                    "surveillance.tracker",
                    _YES,
                    "Marked because the client found a tracker, camera or unknown app",
                ),
            ),
        ),
        RiskFactor(
            "violence.controlling-jealous",
            "The person has been controlling or jealous towards the client",
            f"{_V}: a history of control and/or jealousy towards the client",
        ),
        RiskFactor(
            "violence.blame-revenge",
            "The person blames the client, wants revenge, or does not care about serious "
            "consequences such as prison or death",
            f"{_V}: blaming, revenge, and not caring about severe consequences",
        ),
        RiskFactor(
            "violence.proxy",
            "The person uses other people to watch, contact, threaten or harm the client",
            f"{_V}: stalking by proxy through third parties",
            (_said("interference.third-parties", "got other people to act for them"),),
        ),
        RiskFactor(
            "violence.duration-intensity",
            "It has gone on a long time, or is intense or frequent",
            f"{_V}: longer duration and greater intensity and frequency raise the risk of harm",
            (_LONG, _OFTEN),
        ),
        RiskFactor(
            "violence.strangulation",
            "The person has choked or strangled the client",
            _LIT,
            in_seed=False,
        ),
        RiskFactor(
            "violence.order-breach",
            "The person has breached a court order or no-contact condition",
            _LIT,
            in_seed=False,
        ),
        RiskFactor(
            "violence.threatens-suicide",
            "The person has threatened to harm or kill themselves",
            _LIT,
            (_said("intimidation.threats-self", "threatened to hurt themselves"),),
            in_seed=False,
        ),
    ),
)

RISK_DOMAINS: tuple[RiskDomain, ...] = (CONTINUED, HARM, VIOLENCE)

DANGEROUS_TIMES: tuple[RiskFactor, ...] = (
    RiskFactor(
        "time.separation",
        "The client has separated from the person",
        f"{_T}: after separation",
    ),
    RiskFactor(
        "time.arrest-or-order",
        "The person has been arrested, or served with a protection order",
        f"{_T}: arrest or service of a protection order",
    ),
    RiskFactor(
        "time.life-event",
        "The person has had a major setback, such as losing a job or being evicted",
        f"{_T}: a major negative life event for the person",
    ),
    RiskFactor(
        "time.escalation",
        "The behaviour is becoming more frequent or more severe",
        f"{_T}: behaviour increasing in frequency or severity",
        (_WORSE,),
    ),
    RiskFactor(
        "time.disengaging",
        "The client is cutting contact: blocking, moving, or no longer responding",
        "SPARC guide, Disengagement: stalkers often escalate when the client disengages",
    ),
    RiskFactor(
        "time.reporting",
        "The client is reporting to police or applying for an order",
        "SPARC guide, Law Enforcement: reporting can lead the person to escalate",
    ),
    RiskFactor(
        "time.release",
        "The person is due to be released from custody, or probation is ending",
        "SPARC guide, Understanding the Impact and Law Enforcement: fear of release",
    ),
    RiskFactor(
        "time.order-expiry",
        "A protection order is about to expire",
        "SPARC guide, Law Enforcement: fear as a protection order expires",
    ),
    RiskFactor(
        "time.court-dates",
        "A court hearing, sentencing or custody date is coming up",
        _LIT,
        in_seed=False,
    ),
    RiskFactor(
        "time.new-partner-or-address",
        "The person is learning of a new partner or a new address",
        _LIT,
        in_seed=False,
    ),
    RiskFactor(
        "time.child-handover",
        "Child handovers or contact visits are taking place",
        _LIT,
        in_seed=False,
    ),
)
