# SPDX-License-Identifier: Apache-2.0
"""Safety-planning aids the clinician works through with the client.

Paraphrased from the SPARC Mental Health Professionals' Guide (Safety Planning, Emotional and
Financial Safety Planning, Support System, Privacy); adapted from SPARC / T.K. Logan's SLII
framework. Safety planning never guarantees safety; it can reduce risk.
"""

from __future__ import annotations

from .model import Item
from .model import PlanSection


def _ask(link_id: str, text: str, help_text: str | None = None) -> Item:
    return Item(link_id, text, help_text, "text", max_length=1000)


def _check(link_id: str, text: str, help_text: str | None = None) -> Item:
    return Item(link_id, text, help_text, "answer")


PHYSICAL = PlanSection(
    key="physical",
    title="Physical safety",
    intro=(
        "A plan is flexible, covers every part of life, and fits what is happening now, what "
        "has happened before and what the client expects next. It lowers risk; it cannot "
        "guarantee safety."
    ),
    prompts=(
        _ask(
            "plan.physical.warning-signs",
            "Think back to a time they caused harm. What happened just before? Which signs "
            "could warn you that harm is close?",
        ),
        _ask(
            "plan.physical.already-doing",
            "What are you already doing to stay safe?",
            "For example a different route, staying with a friend, new locks. Acknowledge it.",
        ),
        _ask(
            "plan.physical.daily-routine",
            "Which parts of your routine (home, work, school, travel, children's routines) "
            "feel least safe, and what could change?",
        ),
        _ask(
            "plan.physical.children",
            "If there are children: who collects them, and what do schools or carers need to know?",
        ),
        _ask(
            "plan.physical.safe-places",
            "Where could you go quickly if you needed to, and how would you get there?",
        ),
        _ask(
            "plan.physical.contact",
            "How will you handle contact from them: letting calls go to voicemail, not "
            "replying, or keeping unavoidable contact (such as handovers) short and safe?",
            "Any reply can encourage some people; cutting contact can also provoke escalation.",
        ),
        _ask(
            "plan.physical.their-reaction",
            "How might they react to the changes you make, and what will you do if they do?",
        ),
        _ask(
            "plan.physical.rehearse",
            "Which steps will you practise, and who will you share the plan with so they can help?",
        ),
        _ask(
            "plan.physical.goals",
            "What do you most need right now, and what are your goals?",
            "Listen without judgement, discuss the risks from the review, explore strategies "
            "and resources, and give information and options.",
        ),
    ),
)

EMOTIONAL = PlanSection(
    key="emotional",
    title="Emotional safety",
    intro=(
        "Plan ahead for contact, sightings and reminders. In a crisis people often cannot "
        "reach their usual ways of coping, so write the plan down while calm."
    ),
    prompts=(
        _ask("plan.emotional.triggers", "What situations or reminders set off strong reactions?"),
        _ask(
            "plan.emotional.warning-signs",
            "How do you notice that you have been triggered?",
        ),
        _ask(
            "plan.emotional.reactions",
            "What happens in your mind and in your body when that happens?",
        ),
        _ask(
            "plan.emotional.grounding",
            "Which grounding techniques bring you back to the present when anxiety is high?",
        ),
        _ask(
            "plan.emotional.coping",
            "What will help you cope in hard moments, such as having to deal with them?",
            "Practise these strategies in session.",
        ),
        _ask(
            "plan.emotional.self-care",
            "What helps you recover afterwards?",
        ),
        _ask(
            "plan.emotional.support-people",
            "Who can you reach out to for emotional support?",
        ),
    ),
)

FINANCIAL = PlanSection(
    key="financial",
    title="Money and finances",
    intro=(
        "Control of money is often part of the pattern, especially with a partner or former "
        "partner. Consider an advocate who knows financial safety planning; NNEDV publishes "
        "financial safety-planning guidance."
    ),
    prompts=(
        _check(
            "plan.financial.control",
            "Does anyone control how your money is spent, or make all your money decisions?",
        ),
        _check(
            "plan.financial.withholding",
            "Does anyone keep money from you or give you an 'allowance'?",
        ),
        _check(
            "plan.financial.work-school",
            "Has anyone stopped or sabotaged you working, earning or studying, or made you work "
            "somewhere you do not want to?",
        ),
        _check(
            "plan.financial.basic-needs",
            "Has anyone kept medication, food or other necessities from you?",
        ),
        _check(
            "plan.financial.theft",
            "Has anyone taken your money, identity, credit or property, or made you sign over "
            "assets or false legal or tax papers?",
        ),
        _check(
            "plan.financial.credit",
            "Has anyone damaged your credit or credibility, for example by overusing your "
            "credit or making false reports to a benefits office?",
        ),
        _ask(
            "plan.financial.steps",
            "What steps would protect your money: your own account, new passwords, a credit "
            "freeze, keeping key documents safe?",
        ),
        _check(
            "plan.financial.referral",
            "Would you like a referral to an advocate for financial safety planning?",
        ),
    ),
)

SUPPORT_SYSTEM = PlanSection(
    key="support-system",
    title="Support system",
    intro=(
        "Trusted support helps people cope and lessens the harm. Some clients hold back to "
        "protect others or because the person knows their friends and family."
    ),
    prompts=(
        _ask(
            "plan.support-system.people",
            "Who could support you? Think broadly.",
            "Family (siblings, cousins, aunts, uncles), friends, neighbours, people from a "
            "place of worship, community or professional groups, co-workers, medical or legal "
            "professionals, and advocates.",
        ),
        _ask(
            "plan.support-system.daily-check",
            "Daily safety check: who will you message each day to say you are okay, when, "
            "and what will they do if they do not hear from you?",
        ),
        _ask(
            "plan.support-system.safe-contact",
            "How can you talk with your supporters safely, given the devices and accounts the "
            "person might see?",
        ),
        _ask(
            "plan.support-system.concerns",
            "Is anything holding you back from involving people, such as wanting to keep them "
            "safe, or not knowing whom to trust?",
        ),
    ),
)

TECHNOLOGY = PlanSection(
    key="technology",
    title="Devices, accounts and location",
    intro="Assume the person may see anything on a shared or compromised device or account.",
    prompts=(
        _check(
            "plan.technology.devices",
            "Has the person ever had your phone, computer or car in their hands, or could "
            "spyware be installed?",
        ),
        _check(
            "plan.technology.accounts",
            "Could they get into your email, cloud storage, notes, social media or shared "
            "family accounts?",
        ),
        _check(
            "plan.technology.location",
            "Is your location shared through your phone, apps, car, or a tracker?",
        ),
        _ask(
            "plan.technology.sessions",
            "Which device and place are safe for virtual sessions with us?",
        ),
        _ask(
            "plan.technology.steps",
            "Which steps fit: new passwords and two-step login, turning off location "
            "sharing, a separate safe device? Consider how the person may react to changes.",
        ),
    ),
)

EHR_CONTACTS = PlanSection(
    key="ehr-contacts",
    title="Contacts in the health record",
    intro=(
        "Go through the emergency contacts, related people and portal proxies in the record "
        "with the client. A match can be flagged for the admin without saying why."
    ),
    prompts=(
        _check(
            "plan.ehr-contacts.causing-harm",
            "Is any of these the person causing harm?",
            "Ask for each emergency contact, related person and portal proxy listed.",
        ),
        _check(
            "plan.ehr-contacts.notifications",
            "Do reminders or record updates by text, email or app go anywhere the person can see?",
        ),
        _check(
            "plan.ehr-contacts.code-word",
            "Would you like a code word that must be given before any appointment change?",
        ),
    ),
)

SAFETY_PLAN: tuple[PlanSection, ...] = (
    PHYSICAL,
    EMOTIONAL,
    FINANCIAL,
    SUPPORT_SYSTEM,
    TECHNOLOGY,
    EHR_CONTACTS,
)

IF_THEN_EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "they turn up at my home",
        "I will not open the door, call 911, and then text my sister",
    ),
    (
        "they message me from a new account",
        "I will not reply, take a screenshot for my log, and block the account",
    ),
    (
        "I see their car on my way to work",
        "I will drive to the nearest police station or busy place, not home",
    ),
    (
        "I feel panic after seeing them",
        "I will use my grounding exercise and call my support person",
    ),
    (
        "I do not send my daily check-in message by 9 pm",
        "my friend will call me, and call for help if she cannot reach me",
    ),
    (
        "they are released or served with an order",
        "I will call my advocate the same day and review this plan",
    ),
)
