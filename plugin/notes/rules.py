# SPDX-License-Identifier: Apache-2.0
"""Categories, reasons, word lists and patterns for the over-documentation linter.

The reasoning behind each category follows the SPARC guide for mental health professionals
("Case Notes and Mental Health Records", "Addressing Potential Privacy Concerns" and
"Documenting Stalking Behaviors"), restated in our own words.  The patterns are plain
heuristics: no model, no network.  ``linter.py`` combines them.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CATEGORIES",
    "GIVEN_NAMES",
    "REASONS",
    "STOPWORDS",
]

CATEGORIES: Final = (
    "person-name",
    "address",
    "phone",
    "email",
    "place",
    "incident-date",
    "emotional-detail",
    "harm-person-identifier",
    "service-location",
    "incident-narrative",
)

REASONS: Final[dict[str, str]] = {
    "person-name": "Names in the record can be subpoenaed and may expose people close to the "
    "client to the person causing harm.",
    "address": "Location details can reveal where the client lives, works or can be found.",
    "phone": "A phone number in the record can lead the person causing harm to the client or "
    "their supports if the record is shared.",
    "email": "An email address in the record can be used to reach or impersonate the client "
    "or their supports.",
    "place": "Places the client visits can reveal where the client can be found.",
    "incident-date": "Incident dates belong in the client's own log, not the health record; "
    "records can be subpoenaed and used in court.",
    "emotional-detail": "Descriptions of fear or emotional impact can be used to undermine the "
    "client's credibility or parenting in court.",
    "harm-person-identifier": "If the record is shared with police or others, identifiers of "
    "the person causing harm can reach that person and reveal the disclosure.",
    "service-location": "Shelter and advocacy locations are confidential; naming them can lead "
    "the person causing harm to the client.",
    "incident-narrative": "Detailed accounts of what the person causing harm did belong in the "
    "client's own log; records can be subpoenaed and used against the client.",
}

_WORDS = (
    "A An And As At But By For From He Her Hers Him His I If In It Its Me My No Not Of On",
    "Or Our She So That The Their Them They This Those To Was We Were When Which While Who",
    "Will With You Your Also Per Plan Plans Client Clients Cl Pt Patient Pts Session",
    "Sessions Safety Screening Structured Risk Review Referral Referrals Follow Follow-up",
    "Suicide Suicidal Next Return Intake Diagnosis Interventions Progress Presenting",
    "Treatment Telehealth Video Phone Brief Individual Family Group Discussed Reviewed",
    "Reports Reported States Stated Says Said Met Worked Practiced Psychoeducation Mood",
    "Symptoms Continue Continued Assessment Acute Affect Alert Advocate Advocacy Police",
    "Officer Court Judge Dr Mr Mrs Ms Mx Miss Today Tonight Yesterday Tomorrow Morning",
    "Evening Night PCP CBT DBT EMDR PTSD GAD PHQ ROI DV IPV ER ED SOAP S O A P",
    "January February March April May June July August September October November",
    "December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Monday Tuesday Wednesday",
    "Thursday Friday Saturday Sunday Mondays Tuesdays Wednesdays Thursdays Fridays",
    "Saturdays Sundays Thanksgiving Christmas Easter Halloween Eve Year New Years",
    "Instagram Facebook TikTok Snapchat Twitter Threads Reddit Google Netflix iCloud Apple",
    "Gmail Outlook WhatsApp Signal Venmo Zoom Generalized Anxiety Disorder Major",
    "Depressive Post-traumatic Stress Unspecified Episode Single Moderate Severe Low High",
    "Plan: Consent Release Portal Notes Note Confidentiality Hotline Legal Aid Please",
    "Will Would Could Should Has Have Had Is Are Be Been Being Do Does Did Other",
)
STOPWORDS: Final = frozenset(w.casefold() for line in _WORDS for w in line.split())

# Common US given names (a general list, not drawn from the test corpus).  Names that are
# also ordinary capitalised words (Will, May, Grace, Hope, Summer, Chase ...) are left out.
_NAMES = (
    "Aaron Adam Adrian Alan Albert Alex Alexander Alexis Alice Alicia Allison Alyssa Amanda",
    "Amy Ana Andrea Andrew Angela Anna Anne Anthony Antonio Ashley Austin Barbara Ben",
    "Benjamin Beth Betty Bianca Blake Brad Bradley Brandon Brenda Brian Brittany Bruce",
    "Bryan Caleb Cameron Carl Carlos Carmen Carol Caroline Carolyn Catherine Charles",
    "Charlotte Cheryl Chloe Chris Christian Christina Christine Christopher Cindy Claire",
    "Cody Colin Connor Craig Crystal Cynthia Dale Dan Dana Daniel Danielle Darius Darnell",
    "David Dean Deborah Debra Denise Dennis Derek Destiny Devon Diana Diane Diego Donald",
    "Donna Doris Dorothy Douglas Dylan Edward Eileen Elena Eli Elijah Elizabeth Ella Ellen",
    "Emily Emma Eric Erica Erin Ethan Eva Evan Frances Francisco Frank Gabriel Gabriela",
    "Gary George Gerald Gloria Greg Gregory Hailey Hannah Harold Heather Helen Henry",
    "Holly Ian Isaac Isabel Isabella Jack Jacob Jacqueline James Jamal Jamie Jane Janet",
    "Janice Jasmine Jason Javier Jeffrey Jenna Jennifer Jeremy Jesse Jessica Jesus Jill",
    "Joan Joe Joel John Jonathan Jordan Jorge Jose Joseph Joshua Joyce Juan Judith Judy",
    "Julia Julie Justin Karen Katherine Kathleen Kathryn Kayla Keith Kelly Kenneth Kevin",
    "Kim Kimberly Kyle Latoya Laura Lauren Leah Leslie Linda Lisa Logan Lori Louis Lucas",
    "Luis Luke Madison Manuel Marcus Margaret Maria Marie Marilyn Mario Mark",
    "Martha Martin Mary Mason Matthew Megan Melissa Mia Michael Michelle Miguel Monica",
    "Nancy Natalie Nathan Nicholas Nicole Noah Olivia Oscar Pamela Patricia Patrick Paul",
    "Peter Philip Rachel Rafael Ralph Ramon Randy Raymond Rebecca Ricardo Richard",
    "Rita Robert Roberto Roger Ronald Rosa Russell Ruth Ryan Samantha Samuel Sandra Sara",
    "Sarah Scott Sean Sergio Shannon Sharon Shawn Sheila Shirley Sofia Sophia Stephanie",
    "Stephen Steven Susan Tamara Tanya Teresa Terry Thomas Tiffany Timothy Tina Todd Tom",
    "Tony Tracy Travis Trevor Tyler Valerie Vanessa Victor Victoria Vincent Virginia",
    "Walter Wayne William Xavier Yolanda Zachary Zoe Sam Alexa Jake Mike Nick Jen Liz",
)
GIVEN_NAMES: Final = frozenset(w for line in _NAMES for w in line.split())

# ---- patterns -------------------------------------------------------------------------
NAME = r"(?:Mc|Mac|O['\u2019])?[A-Z][a-z]+(?:-[A-Z][a-z]+)?"
CAP_SEQ = rf"{NAME}(?:\s+{NAME}){{0,2}}"
_I = re.IGNORECASE
_OBJ = r"(?:her|him|them|me|the\s+client|client|his|their|my)"
_TAIL = r"(?:\s+(?!and\b|but\b|when\b|because\b|after\b|while\b)[\w'\u2019-]+){0,3}"
_STREET = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Court|Ct\.?|Way|"
    r"Terrace|Circle|Parkway|Pkwy\.?|Place|Drive"
)
_PLACE_NOUN = (
    r"Mall|Park|Plaza|Market|Library|Elementary|Middle School|High School|School|Academy|"
    r"College|University|Hospital|Church|Mosque|Synagogue|Temple|Station|Center|Centre|Gym|"
    r"Fitness|Bakery|Diner|Caf[eé]|Coffee|Grill|Bar|Pub|Restaurant|Laundromat|Pharmacy|Hall|"
    r"Correctional(?:\s+Facility)?|Jail|Police Department|Department|Apartments|Motel|Hotel|"
    r"Inn|Credit Union|Bank|Lake|Beach|Trail|Stadium|Arena|Theat(?:er|re)|Museum|Store|Mart"
)
_SERVICE_NOUN = (
    r"(?i:shelter|refuge|safe\s*house|transitional\s+housing|advocacy(?:\s+(?:center|centre|"
    r"agency|program|office))?|DV\s+program|domestic\s+violence\s+(?:program|agency|shelter)|"
    r"crisis\s+center|family\s+services|women['\u2019]s\s+center|victim\s+services|program|"
    r"(?:family\s+)?justice\s+center)"
)

PHONE: Final = re.compile(
    r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
)
EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HARM_IDS: Final = (
    re.compile(r"(?<![\w.@])@[A-Za-z0-9_](?:[\w.]*\w)?"),
    re.compile(
        r"\b(?i:instagram|facebook|tiktok|snapchat|twitter|threads|reddit)"
        r"(?:\s+(?:account|handle|username|profile|page))?\s*[:(]\s*@?([\w.]{3,})"
    ),
    re.compile(
        r"\b(?i:plates?|tag|license)(?:\s+(?i:plate|number|no\.?|#|is|was))*\s*:?\s*"
        r"(?:[A-Z]{2}\s+)?([A-Z0-9]{1,4}[- ]?[A-Z0-9]{2,5})\b"
    ),
    re.compile(r"\b(?=[A-Z-]*\d)(?=\d*[A-Z]\d*[A-Z])[A-Z0-9]{2,4}-?[A-Z0-9]{3,4}\b"),
    re.compile(
        r"\b(?:(?i:white|black|silver|gr[ae]y|red|blue|green|gold|tan|maroon|dark|beige|"
        r"brown)\s+(?=[A-Z])|(?=\w+\s+[A-Z0-9]))(?:Honda|Toyota|Ford|Chevy|Chevrolet|Nissan|Jeep|Dodge|Subaru|Hyundai|"
        r"Kia|BMW|Tesla|Volkswagen|VW|Mazda|GMC|Audi|Mercedes|Lexus|Buick|Cadillac|Chrysler|"
        r"Acura|Volvo)(?:\s+[A-Z0-9][\w-]*)?"
    ),
)
ADDRESSES: Final = (
    re.compile(
        rf"\b\d{{1,5}}\s+(?:{NAME}\s+){{1,3}}(?:{_STREET}|Dr\.?)(?!\s+[A-Z])"
        r"(?:,?\s+(?i:apt\.?|apartment|unit|suite|#)\s*\w+)?"
    ),
    re.compile(rf"\b(?:{NAME}\s+){{1,2}}(?:{_STREET})(?!\w)(?!\s+[A-Z])"),
    re.compile(r"\b(?i:apt\.?|apartment|unit|suite)\s+#?\d+[A-Za-z]?\b"),
    re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b(?i:p\.?\s?o\.?\s+box)\s+\d+"),
    re.compile(
        r"\b(?:Highway|Hwy\.?|Route|Rte\.?|Interstate|I-)\s?\d{1,3}\b"
        r"(?!\s+(?:bike\s+)?(?:trail|park|path)\b)"
    ),
)
PLACES: Final = (
    re.compile(rf"(?:\bSt\.\s+)?\b(?:{NAME}['\u2019]?s?\s+){{0,3}}{NAME}\s+(?:{_PLACE_NOUN})\b"),
    re.compile(r"\b(?:Route|Highway)\s+\d{1,3}\s+(?:bike\s+)?(?:trail|park|path)\b"),
    re.compile(rf"\b{NAME}\s+(?:County|Township|Heights|Falls|Springs|Valley|Village)\b"),
)
PLACE_AFTER_PREP: Final = re.compile(
    r"\b(?:in|at|near|from|outside|around|(?:moved|relocated|drove|went|goes|going|fled|"
    rf"travel(?:s|ed|led|ing)?|back)\s+to)\s+({CAP_SEQ})"
)
_SKIP_DATE = r"(?<!\d)(?<!\d[/-])"
DATES: Final = (
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(_SKIP_DATE + r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b(?![/-]\d)"),
    re.compile(
        r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
        r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?\s+\d{1,2}(?:st|nd|rd|th)?"
        r"\b(?:,?\s+\d{4})?"
    ),
    re.compile(
        r"\b(?:(?i:last|this|on|every)\s+)?(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days?"
        r"(?:\s+(?:morning|afternoon|evening|night))?\b"
    ),
    re.compile(
        r"\b(?:Thanksgiving|Christmas(?:\s+(?:Eve|Day))?|New\s+Year['\u2019]s(?:\s+(?:Eve|Day))?|"
        r"Easter|Halloween|Valentine['\u2019]s\s+Day|Fourth\s+of\s+July|Memorial\s+Day|Labor\s+Day|"
        r"Mother['\u2019]s\s+Day|Father['\u2019]s\s+Day)"
    ),
    re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:[ap]\.m\.|[ap]m\b)", _I),
    re.compile(r"\bthe\s+\d{1,2}(?:st|nd|rd|th)\b"),
)
ALLOWED_DATE_PREFIX: Final = re.compile(
    r"(?:session(?:\s+date)?|date\s+of\s+service|dos|next\s+(?:session|appointment)|"
    r"follow-up|return)\s*(?:on|:)?\s*$",
    _I,
)
EMOTION: Final = re.compile(
    r"\b(?:terrified|terrifying|scared|afraid(?:\s+to\s+[a-z]+(?:\s+(?:the|home|out|house|"
    r"alone))*)?|frightened|fearful|fears?\s+for\s+(?:her|his|their)\s+(?:life|safety)|petrified|"
    r"panick(?:ed|ing)|sobb(?:ed|ing)|crying|cried|tearful|wept|weeping|shaking|trembling|"
    r"humiliat(?:ed|ion)|ashamed|embarrassed|guilty|hopeless|helpless|powerless|trapped|"
    r"devastated|distraught|overwhelmed|on\s+edge|jumps?\s+at\s+every\s+\w+|dread|violated|"
    r"paranoid|hysterical|broke\s+down|(?:has\s+not|hasn['\u2019]t|can['\u2019]?t|cannot|could\s+not)\s+"
    r"(?:slept|sleep|eaten|eat|stop\s+crying|trust\s+anyone(?:\s+anymore)?)[\w ]{0,20}|"
    r"exhausted|relieved|heartbroken|rattled|shaken|freaked\s+out|despair|falling\s+apart|"
    r"feel(?:s|ing)?\s+(?:like\s+[^.;,]{3,50}|unsafe|isolated|exposed|alone|sick[\w ]{0,20}|"
    r"worthless)(?:\s+and\s+\w+)?|sick\s+to\s+(?:her|his|their|my)\s+stomach|wringing\s+"
    r"(?:her\s+|his\s+|their\s+)?hands|fear\s+(?:that|of)\s+[^.;,]{3,50}|isolated)",
    _I,
)
_VERB_OBJ = (
    r"(?<!person\s)(?:follow(?:ed|s|ing)?|track(?:ed|s|ing)?|stalk(?:ed|s|ing)?|watch(?:ed|es|ing)|"
    r"photograph(?:ed|s|ing)|film(?:ed|ing)|grabb(?:ed|ing)|choked|strangled|punched|slapped|"
    r"shoved|kicked|pushed|assaulted|raped|cornered|chased|text(?:ed|ing)|call(?:ed|ing)|"
    r"messag(?:ed|ing)|email(?:ed|ing)|harass(?:ed|ing)|threaten(?:ed|ing)|contacted)"
)
_NARRATIVE = (
    rf"\b(?:{_VERB_OBJ})\s+{_OBJ}\b{_TAIL}"
    r"|\b(?:being|been|was|were|got)\s+(?:followed|tracked|watched|photographed|"
    r"grabbed|assaulted|threatened|harassed|seen\s+(?:outside|near|at|around)"
    r"(?:\s+[\w'\u2019]+){1,2})"
    r"|\bthreaten(?:ed|ing|s)?\s+to\s+\w+(?:\s+\w+){0,4}|\bthreatening\s+(?:voicemail|"
    r"message|text|note|letter|call|email)s?"
    r"|(?<!will\s)(?<!might\s)(?<!could\s)\b(?:show(?:ed|s|ing)?|turn(?:ed|s|ing)?)"
    rf"\s+up\s+(?:at|outside|wherever|near|in)\b{_TAIL}"
    rf"|\b(?:wait(?:ed|s|ing)?|park(?:ed|s|ing)?|sits?|sitting|sat|loiter(?:ed|ing)?|"
    rf"lurk(?:ed|ing)?)\s+(?:directly\s+)?(?:outside|by|near|in|at|across|behind)\b"
    rf"{_TAIL}"
    r"|\b(?:dr(?:ove|ives|iving|iven)\s+(?:by|past|around)|broke\s+into|smashed|slashed|"
    rf"keyed|vandali[sz]ed|pounded\s+on|banged\s+on|kicked\s+in)\b{_TAIL}"
    r"|\b(?:left|leaving|leaves|sent|sends|sending|mailed)\s+(?:a\s+|an\s+|the\s+)?"
    r"(?:[a-z]+\s+){0,2}(?:notes?|flowers|gifts?|letters?|items?|bird|photos?|"
    r"pictures?|packages?|cards?|messages|voicemails)\b[^.;,]{0,30}"
    r"|\b(?:GPS\s+tracker|tracking\s+device|AirTag|tracker|spyware|stalkerware|"
    r"hidden\s+camera|keylogger)s?\b|\binstalled\s+\w+\s+on\s+\w+\s+\w+"
    r"|\b(?:logg(?:ed|ing)\s+into|hack(?:ed|ing)(?:\s+into)?|access(?:ed|ing)|"
    r"monitor(?:ed|ing)|read(?:ing)?)\s+(?:her|his|their|my)\s+(?:\w+\s+){0,2}"
    r"(?:accounts?|email|phone|messages|texts|location|laptop|computer)"
    r"|\b(?:created|made|opened)\s+(?:several\s+|multiple\s+|new\s+)*(?:fake|new)\s+"
    r"accounts?|\bposted\s+(?:photos|pictures|images|videos)\s+of\s+\w+|"
    r"\bpretend(?:ed|ing)\s+to\s+be\s+\w+(?:\s+\w+)?|\bimpersonat\w+\s+\w+"
    r"|\b(?:would|will|going\s+to|gonna|['\u2019]ll)\s*(?:(?:kill|shoot|hurt|stab|harm|find)"
    r"\s+(?:her|him|them|me)\b|burn\s+(?:\w+\s+){0,2}down|regret|pay)"
    r"|\b(?:br(?:oke|eaking|eak)|climb(?:ed|ing)\s+(?:in|into)|took|taking|"
    r"stole|smash(?:ed|ing)|destroy(?:ed|ing))\s+(?:the|a|her|his|their|my)\s+"
    rf"(?:\w+\s+)?(?:window|door|lock|phone|keys|car|wallet|passport|house)\b{_TAIL}"
    r"|\b(?:email|phone|accounts?|laptop)\s+(?:was|were|had\s+been|got)\s+(?:hacked|"
    r"accessed|compromised|cloned)|\bposted\s+(?:her|his|their)\s+(?:home\s+)?"
    r"(?:address|number|photos?)|\b(?:received|got)\s+(?:\d+|dozens\s+of|hundreds\s+of)"
    r"\s+(?:voicemails|calls|texts|messages|emails)|\bcommented\s+on\s+(?:all\s+)?"
    r"(?:her|his|their)\s+posts|\bDM(?:ed|ing)\s+(?:her|his|their)\s+\w+"
)
NARRATIVES: Final = (re.compile(_NARRATIVE, _I),)
SERVICES: Final = (
    re.compile(rf"\b((?:{NAME}['\u2019]?s?\s+){{1,4}}){_SERVICE_NOUN}"),
    re.compile(rf"\b{_SERVICE_NOUN}\s+(?:in|on|at|near)\s+(?:the\s+)?{CAP_SEQ}"),
)
SERVICE_TAIL: Final = re.compile(
    rf"\A(?:\s*\([^)]{{0,60}}\)|(?:,|\s+(?:on|in|at|near))\s+(?:\d{{1,5}}(?:st|nd|rd|th)?\s+)?{CAP_SEQ}"
    r"(?:(?:(?<=St)|(?<=Ave)|(?<=Rd)|(?<=Blvd))\.)?)+"
)
HARM_CUE: Final = re.compile(
    r"\b(?:ex(?:-|\s)?(?:husband|wife|partner|boyfriend|girlfriend|fianc[eé]e?|spouse|"
    r"co-?worker|roommate)|ex(?!['\u2019]s)(?![\w-])|estranged\s+(?:husband|wife|partner|spouse)|"
    r"former\s+(?:partner|husband|wife|boyfriend|girlfriend|classmate|co-?worker|friend|"
    r"roommate|boss|neighbou?r|spouse)(?!['\u2019]s)|stalker|harasser|abuser|perpetrator|"
    r"(?:the\s+)?person\s+(?:harassing|following|stalking)\s+(?:her|him|them))",
    _I,
)
PARTNER_CUE: Final = re.compile(
    r"\b(?:husband|wife|boyfriend|girlfriend|partner|fianc[eé]e?)"
    r"(?!['\u2019]s)",
    _I,
)
CUE_LINK: Final = re.compile(
    rf"\A(?:\s*,)?\s+(?:(?:is|was|a|an|the|named|called|from|at|of|with|[a-z-]+)\s+){{0,3}}"
    rf"(?P<name>{CAP_SEQ})(?:(?:\s*,)?\s+(?:at|from|of|with)\s+(?:the\s+)?{CAP_SEQ})?"
)
PERSON_CUE: Final = re.compile(
    r"\b(?i:sister|brother|mother|father|mom|dad|son|daughter|cousin|aunt|uncle|friend|"
    r"neighbou?r|co-?worker|colleague|manager|supervisor|boss|advocate|grandmother|grandfather|"
    r"niece|nephew|roommate|landlord|teacher|witness|husband|wife|boyfriend|girlfriend|partner|"
    r"fianc[eé]e?)(?!['\u2019]s)(?:\s*,)?\s+(?:(?i:is|was|named|called)\s+)?"
    rf"({NAME}(?:\s+{NAME})?)"
)
HONORIFIC: Final = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Officer|Detective|Deputy|Sgt|Sergeant|Judge|Attorney)\.?\s+"
    rf"{NAME}(?:\s+{NAME})?"
)
APPOSITIVE_NAME: Final = re.compile(
    rf"\b({NAME}(?:\s+{NAME})?)(?:,\s+(?:a|an|the|her|his|their)\s+(?:man|woman|person|guy|"
    r"friend|co-?worker|neighbou?r|acquaintance|classmate|student|relative|colleague)\b|"
    r"\s+(?:has|had|said|says|told|keeps|kept|texted|called|messaged)\b)"
)
