# SPDX-License-Identifier: Apache-2.0
"""Risk review: a structured professional judgement aid. Nothing here is weighted or summed.

Factors paraphrase the SPARC Mental Health Professionals' Guide ("Assessing Risk"); adapted
from SPARC / T.K. Logan's SLII framework. A few factors marked ``in_seed=False`` come from the
general stalking-risk literature and say so in ``seed_basis``.
"""

from __future__ import annotations

from .model import PreMark
from .model import RiskDomain
from .model import RiskFactor

SPJ_LABEL = (
    "Structured professional judgement aid. It supports your clinical judgement; it is not a "
    "validated screening test or a prediction, and it is never a score. With the client's "
    "consent, involve a specialist advocate."
)

_C = "SPARC guide, Risk of continued or recurrent stalking"
_H = "SPARC guide, Risk of psychological and social harm"
_LIT = "Not in the SPARC guide: general stalking-risk literature (domain research 5a)"

_YES = frozenset({"yes"})
_YES_UNSURE = frozenset({"yes", "unsure"})


def _said(link_id: str, quote: str, answers: frozenset[str] = _YES) -> PreMark:
    return PreMark(link_id, answers, f"Marked because the client said yes to '{quote}'")


_EX_PARTNER = PreMark(
    "opening.relationship",
    frozenset({"ex-partner"}),
    "Marked because the client said the person is a former partner",
)
_ANY_PARTNER = PreMark(
    "opening.relationship",
    frozenset({"ex-partner", "partner"}),
    "Marked because the client said the person is a current or former partner",
)
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
_PHYSICAL = _said("interference.physical", "physically hurt you")
_SEXUAL = _said("interference.sexual", "forced or pressured sexual contact")
_PROXY = _said("interference.third-parties", "got other people to act for them")
_THREATS = (
    _said("intimidation.threats-harm", "threats to hurt you"),
    _said("intimidation.threats-others", "threats to hurt people close to you"),
    _said("intimidation.weapon-threats", "threatened with a weapon"),
)
_WEAPON_ACCESS = _said("intimidation.weapon-access", "has or can get a weapon", _YES_UNSURE)

CONTINUED = RiskDomain(
    key="continued",
    title="Risk of continued or recurrent stalking",
    factors=(
        RiskFactor(
            "continued.former-partner",
            "The person is a former intimate partner",
            f"{_C}: stalking by a former intimate partner",
            (_EX_PARTNER,),
        ),
        RiskFactor(
            "continued.history-violence",
            "The person has a history of abuse or violence towards the client",
            f"{_C}: earlier abuse and violence towards the client",
            (_PHYSICAL, _SEXUAL),
        ),
        RiskFactor(
            "continued.duration-intensity",
            "It has gone on a long time, or is intense or frequent",
            f"{_C}: longer duration and greater intensity and frequency",
            (_LONG, _OFTEN),
        ),
        RiskFactor(
            "continued.reinforced-contact",
            "Something keeps them in contact: shared children, shared work, or living nearby",
            f"{_C}: factors that reinforce contact, such as shared custody or a shared work "
            "or living environment",
            (
                _said("opening.shared-children", "shared children"),
                _said("opening.shared-work-school", "shared work, school or neighbourhood"),
                PreMark(
                    "opening.relationship",
                    frozenset({"neighbour", "co-worker"}),
                    "Marked because the client said the person is a neighbour or co-worker",
                ),
            ),
        ),
        RiskFactor(
            "continued.proxy",
            "The person uses other people to watch, contact, threaten or harm the client",
            f"{_C}: stalking by proxy through third parties",
            (_PROXY, _said("surveillance.asking-others", "asking others about you")),
        ),
        RiskFactor(
            "continued.ignored-no",
            "Contact has continued after a clear 'no', a block, or an order",
            f"{_LIT}; the opening pattern check",
            (
                _said("opening.continued-after-no", "carried on after you said no"),
                _said("life-invasion.new-accounts", "new numbers or accounts after a block"),
            ),
            in_seed=False,
        ),
        RiskFactor(
            "continued.targets-care",
            "The person has contacted, impersonated or turned up at the client's providers",
            "SPARC guide, Addressing Potential Privacy Concerns and Provider Safety: stalkers "
            "may impersonate clients or target staff to reach records or alter care",
            (
                _said("life-invasion.posing-as-client", "someone calling providers as you"),
                _said("surveillance.sessions", "could see or overhear sessions", _YES_UNSURE),
            ),
        ),
    ),
)

HARM = RiskDomain(
    key="harm",
    title="Risk of psychological and social harm",
    factors=(
        RiskFactor(
            "harm.followed",
            "The client is repeatedly followed",
            f"{_H}: being followed repeatedly",
            (_said("surveillance.following", "followed or watched"),),
        ),
        RiskFactor(
            "harm.property",
            "Property has been stolen or destroyed",
            f"{_H}: property theft or destruction",
            (
                _said("intimidation.property", "damaged or taken your property"),
                _said("intimidation.break-ins", "got into your home or car"),
            ),
        ),
        RiskFactor(
            "harm.partner-firearms",
            "A current or former partner has access to firearms",
            f"{_H}: stalking by a current or former intimate partner with access to firearms",
            (_WEAPON_ACCESS,),
        ),
        RiskFactor(
            "harm.explicit-threats",
            "The client has been threatened outright, especially with a firearm",
            f"{_H}: explicit threats, particularly with firearms, whether or not there has "
            "been violence",
            _THREATS,
        ),
        RiskFactor(
            "harm.physical-violence",
            "The client has experienced physical violence",
            f"{_H}: physical violence",
            (_PHYSICAL,),
        ),
        RiskFactor(
            "harm.duration-intensity",
            "It has gone on a long time, or is intense or frequent",
            f"{_H}: longer duration and greater intensity and frequency",
            (_LONG, _OFTEN),
        ),
        RiskFactor(
            "harm.suicidal-thoughts",
            "The client has suicidal thoughts or behaviour",
            f"{_H}: the harm may include suicidal ideation or behaviour; also Understanding "
            "the Impact",
            (_said("fear.suicidal-thoughts", "thoughts of ending your life", _YES_UNSURE),),
        ),
        RiskFactor(
            "harm.symptoms",
            "Anxiety, poor sleep, low mood, hypervigilance, trauma or physical stress symptoms",
            "SPARC guide, Understanding the Impact: anxiety, insomnia, depression, "
            "anticipatory fear, hypervigilance, PTSD and somatic symptoms",
            (_said("fear.impact", "affecting sleep, mood or health"),),
        ),
        RiskFactor(
            "harm.substance-use",
            "The client is drinking or using other substances more to cope",
            "SPARC guide, Understanding the Impact: increased substance use and misuse",
            (_said("fear.substance-use", "drinking or using more"),),
        ),
        RiskFactor(
            "harm.isolation",
            "The client is withdrawing from friends, family or everyday activities",
            "SPARC guide, Social Impacts of Stalking: withdrawal and social isolation",
            (_said("fear.withdrawn", "pulled back from people or activities"),),
        ),
        RiskFactor(
            "harm.life-changes",
            "The client has had to change their life: moving, time off work, new routines",
            f"{_H}: social damage such as time off work and relocation",
            (_said("fear.life-changes", "had to change your life"),),
        ),
        RiskFactor(
            "harm.little-support",
            "The client has little support, or feels disbelieved by others or by responders",
            "SPARC guide, Support System: social support lessens the harm of stalking; "
            "responders may minimise the client's experience",
        ),
    ),
)
