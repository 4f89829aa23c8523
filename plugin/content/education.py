# SPDX-License-Identifier: Apache-2.0
"""Validation and education prompts, and the client's documentation log fields.

Paraphrased from the SPARC Mental Health Professionals' Guide (Client Reactions, Providing
Validation and Education, Documenting Stalking Behaviors, Law Enforcement); adapted from
SPARC / T.K. Logan's SLII framework. The log is kept by the client OUTSIDE the clinic record.
"""

from __future__ import annotations

from .model import Item
from .model import Prompt

SPARC_WEBSITE = "https://www.stalkingawareness.org"
SPARC_LOG_URL = "https://www.stalkingawareness.org/documentation-log/"

PRINT_SAFETY_QUESTION = "Is it safe for you to take printed material home?"
PRINT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("plain", "Yes: print the full handout"),
    ("discreet", "Only something discreet: print the appointment card with helpful numbers"),
    ("none", "No: print nothing and read out the website to look at when it is safe"),
)

DOCUMENTATION_LOG_FIELDS: tuple[Item, ...] = (
    Item("log.date", "Date", None, "date"),
    Item("log.time", "Time", None, "text", max_length=50),
    Item(
        "log.location",
        "Where you were when it happened or when you noticed it",
        None,
        "text",
        max_length=200,
    ),
    Item(
        "log.technology",
        "Technology involved, if any",
        "The device (phone, computer) and the app, site or account used.",
        "text",
        max_length=200,
    ),
    Item(
        "log.description",
        "What happened, briefly",
        "Facts only. Leave out how it made you feel: anything given to police or a court may "
        "be seen by the person.",
        "text",
        max_length=2000,
    ),
    Item(
        "log.witnesses",
        "Witnesses: full names and contact details",
        None,
        "text",
        max_length=500,
    ),
    Item(
        "log.evidence",
        "Evidence kept and where it is stored",
        "For example screenshots, emails, texts, voicemails, gifts or photos of damage.",
        "text",
        max_length=500,
    ),
    Item(
        "log.reported-to",
        "Reported to: which agency and which person",
        None,
        "text",
        max_length=200,
    ),
    Item(
        "log.report-number",
        "Police report or incident number",
        None,
        "text",
        max_length=100,
    ),
)

EDUCATION_PROMPTS: tuple[Prompt, ...] = (
    Prompt(
        "minimising",
        "Clients often play down single incidents ('it's only texts', 'they'd never hurt me', "
        "'it's been worse'). Gently connect the latest event with earlier, more serious ones.",
    ),
    Prompt(
        "not-overreacting",
        "Tell the client their discomfort, frustration and fear make sense: they are not "
        "overreacting.",
    ),
    Prompt(
        "self-blame",
        "Shame and self-blame are common, especially when the person is someone the client "
        "knows. Say clearly that the behaviour is the other person's responsibility.",
    ),
    Prompt(
        "avoiding-others",
        "Pulling away from family and friends is a common response: from embarrassment, to "
        "avoid the person, fear of not being believed, or to protect loved ones.",
    ),
    Prompt(
        "negotiating",
        "Some clients bargain with the person or keep contact to know where they are and head "
        "off harm. Explore this without judgement.",
    ),
    Prompt(
        "own-safety-steps",
        "Recognise the safety steps the client already takes (new routes, staying with a "
        "friend, new locks), and note that distancing can anger the person and raise the risk.",
    ),
    Prompt(
        "crime",
        "Stalking is a crime, not a misunderstanding or a personal conflict. Naming it can "
        "help the client consider steps toward safety and justice.",
    ),
    Prompt(
        "pattern",
        "Stalking is a pattern (a course of conduct), often escalates, and often overlaps with "
        "other abuse. Help the client see the pattern rather than single events.",
    ),
    Prompt(
        "anticipatory-fear",
        "Fear of what the person will do next, and being constantly on guard, are expected "
        "reactions to ongoing, unpredictable intrusion, and can last after it stops.",
    ),
    Prompt(
        "disengagement",
        "Any response can encourage some people, so unanswered calls may be safer than asking "
        "them to stop; but full disengagement is not always possible (children, work, small "
        "communities, authority) and can provoke escalation.",
    ),
    Prompt(
        "plan-no-guarantee",
        "A safety plan can reduce risk but never guarantees safety; it changes as the "
        "behaviour changes.",
    ),
    Prompt(
        "log-outside-record",
        "Suggest the client keeps an incident log with evidence (emails, texts, gifts) even if "
        "they do not plan to report. The log belongs to the client and is kept OUTSIDE the "
        "clinic record. SPARC offers a sample log.",
    ),
    Prompt(
        "log-digital-safety",
        "Digital log: is the device safe, has the person ever had it in their hands, could "
        "spyware be installed, and can they reach the notes app, email or cloud storage?",
    ),
    Prompt(
        "log-paper-safety",
        "Paper log: could copies be kept in several places the person cannot reach (a trusted "
        "person's home, work, a locker, a safe deposit box), and can the client keep them all "
        "up to date?",
    ),
    Prompt(
        "log-contents",
        "Anything given to police or a court may reach the person: keep feelings and fear "
        "out of the log; record date, time, place, witnesses and facts, which are easy to "
        "forget.",
    ),
    Prompt(
        "reporting",
        "If the client reports to police, help them prepare: expect personal questions, "
        "outline events as a pattern, bring the log, know an arrest may not follow, "
        "investigations take time, and plan for how the person may react.",
    ),
    Prompt(
        "physical-symptoms",
        "Headaches, pain, sleep changes, weight change, shaking, chest pain and panic can "
        "follow long-term stress; a medical professional can help.",
    ),
    Prompt(
        "handbook",
        "Ask whether printed material is safe to take home. If not, give the SPARC website to "
        "look at later on a device the person cannot reach.",
    ),
    Prompt(
        "records",
        "Records can be subpoenaed and used against the client, for example in custody "
        "cases. Keep notes to what is needed and leave out unnecessary detail.",
    ),
    Prompt(
        "release-of-information",
        "Share information only with written, voluntary, revocable consent stating what is "
        "shared, who releases it, to whom, why, for which dates, and how to revoke it; then "
        "only on a need-to-know basis.",
    ),
)
