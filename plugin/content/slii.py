# SPDX-License-Identifier: Apache-2.0
"""SLII screening: Surveillance, Life invasion, Intimidation, Interference.

Adapted from SPARC / T.K. Logan's SLII framework. The four groups are SPARC's; every question
is Quietline's own wording. Behaviour items ask how often and how recently.
"""

from __future__ import annotations

from .model import Item
from .model import Section


def _behaviour(link_id: str, text: str, help_text: str | None = None) -> Item:
    return Item(link_id, text, help_text, "answer", asks_frequency=True, asks_recency=True)


SURVEILLANCE = Section(
    key="surveillance",
    title="Surveillance: watching and tracking",
    intro="Ways the person may be keeping track of the client, directly or through others.",
    items=(
        _behaviour(
            "surveillance.knows-whereabouts",
            "Do they seem to know where you are, or what you have been doing, without you "
            "telling them?",
        ),
        _behaviour(
            "surveillance.following",
            "Have they, or someone acting for them, followed you, driven past, or waited near "
            "or watched places you go?",
            "Being followed repeatedly is linked with greater harm to the client.",
        ),
        _behaviour(
            "surveillance.devices",
            "Could they be getting into your phone, computer, car, online accounts, location "
            "sharing or home devices?",
            "Think of shared plans, shared passwords, a device they once had in their hands, "
            "family-sharing and smart-home apps.",
        ),
        _behaviour(
            "surveillance.tracker",
            "Have you found a tracking tag, hidden camera or unfamiliar app on your things or "
            "your car?",
        ),
        _behaviour(
            "surveillance.online",
            "Are they watching your social media or looking you up online, or using people-"
            "search sites?",
        ),
        _behaviour(
            "surveillance.asking-others",
            "Are they asking your friends, family, co-workers or children about you?",
        ),
        _behaviour(
            "surveillance.sessions",
            "Could they see or overhear your sessions with us, for example through a shared "
            "device or account, or by being nearby?",
            "If so, plan a safer device and place for virtual sessions.",
        ),
    ),
)

LIFE_INVASION = Section(
    key="life-invasion",
    title="Life invasion: unwanted contact and intrusion",
    intro="Ways the person pushes into the client's life, home, work and relationships.",
    items=(
        _behaviour(
            "life-invasion.messages",
            "Do they send you calls, texts, messages, emails or posts you do not want?",
            "Includes contact arranged from jail or prison, or sent through other people.",
        ),
        _behaviour(
            "life-invasion.new-accounts",
            "After you blocked them, did they come back with new numbers or new accounts?",
        ),
        _behaviour(
            "life-invasion.turning-up",
            "Do they turn up uninvited at your home, work, school or appointments, "
            "including this clinic?",
            "Approaching in person often is linked with a higher chance of violence.",
        ),
        _behaviour(
            "life-invasion.gifts",
            "Have they sent or left gifts, letters or other things for you?",
        ),
        _behaviour(
            "life-invasion.contacting-others",
            "Do they contact your family, friends, employer, school or others about you?",
        ),
        _behaviour(
            "life-invasion.exposing",
            "Have they shared private information or images of you, or spread rumours about you?",
        ),
        _behaviour(
            "life-invasion.impersonation",
            "Have they pretended to be you, or someone else, online or by phone?",
        ),
        _behaviour(
            "life-invasion.posing-as-client",
            "Has anyone called this clinic, your doctor or other providers pretending to be "
            "you, or asking about your appointments or care?",
            "If yes, set up a code word for appointment changes and tell the front desk to "
            "verify callers.",
        ),
    ),
)

INTIMIDATION = Section(
    key="intimidation",
    title="Intimidation: threats and fear",
    intro=(
        "Ways the person makes the client afraid. Ask about each threat even if the client "
        "thinks the person would never act on it."
    ),
    items=(
        _behaviour(
            "intimidation.threats-harm",
            "Have they threatened to hurt or kill you?",
        ),
        _behaviour(
            "intimidation.threats-others",
            "Have they threatened to hurt people close to you, or your pets?",
        ),
        _behaviour(
            "intimidation.weapon-threats",
            "Have they threatened you with a gun or other weapon, or shown you one to scare you?",
        ),
        _behaviour(
            "intimidation.threats-self",
            "Have they threatened to hurt or kill themselves?",
        ),
        _behaviour(
            "intimidation.threats-leverage",
            "Have they threatened to expose you, report you, take the children, or cost you "
            "your job, housing or immigration status?",
        ),
        _behaviour(
            "intimidation.property",
            "Have they damaged, taken or interfered with your property, car or pets?",
        ),
        _behaviour(
            "intimidation.break-ins",
            "Have they got into your home or car, or left signs to show they had been there?",
        ),
        Item(
            "intimidation.weapon-access",
            "As far as you know, do they have or can they get a gun or other weapon?",
            "Ask about firearms directly; access to firearms raises the risk of serious harm.",
            "answer",
        ),
    ),
)

INTERFERENCE = Section(
    key="interference",
    title="Interference through sabotage or attack",
    intro="Ways the person damages the client's life, money, relationships, health or body.",
    items=(
        _behaviour(
            "interference.work-school",
            "Have they interfered with your work or studies, or tried to get you fired or "
            "stop you working or studying?",
        ),
        _behaviour(
            "interference.money",
            "Have they taken or controlled your money, run up debt, damaged your credit, used "
            "your identity, or made false reports to a benefits office?",
        ),
        _behaviour(
            "interference.basic-needs",
            "Have they kept medication, food or other basics from you?",
        ),
        _behaviour(
            "interference.accounts",
            "Have they got into, changed or locked you out of your accounts?",
        ),
        _behaviour(
            "interference.services",
            "Have they cancelled or changed your appointments, deliveries, utilities or other "
            "services?",
        ),
        _behaviour(
            "interference.legal",
            "Have they made false reports about you, or used courts or custody processes "
            "against you?",
        ),
        _behaviour(
            "interference.physical",
            "Have they pushed, hit, choked or otherwise physically hurt you?",
            "Ask about choking or strangling specifically.",
        ),
        _behaviour(
            "interference.sexual",
            "Have they forced or pressured you into sexual contact?",
        ),
        _behaviour(
            "interference.harm-others",
            "Have they hurt someone close to you, or your pets?",
        ),
        _behaviour(
            "interference.third-parties",
            "Have they got other people to watch, contact, threaten or harm you for them?",
            "Using others in this way is called stalking by proxy.",
        ),
    ),
)

SLII: tuple[Section, ...] = (SURVEILLANCE, LIFE_INVASION, INTIMIDATION, INTERFERENCE)
