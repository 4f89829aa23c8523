# SPDX-License-Identifier: Apache-2.0
"""Screening, risk review and safety planning: drafts in the vault, finished records, change.

Everything the clinician enters lives only in the vault (the draft is re-sealed on every save).
Finishing stores the QuestionnaireResponse, the RiskAssessment and the safety plan as separate
vault records and returns the facts for the minimal note; nothing here is written to the EHR.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from smart_launch.errors import SmartLaunchError
from smart_launch.fhir import FhirClient

from ..content import CONTENT_VERSION
from ..content import DANGEROUS_TIMES
from ..content import FEAR
from ..content import FREQUENCIES
from ..content import HARK
from ..content import OPENING
from ..content import RECENCIES
from ..content import RISK_DOMAINS
from ..content import SAFETY_PLAN
from ..content import SLII
from ..content import Section
from ..errors import PluginError
from ..launch.store import LiveLaunch
from ..notes.composer import NoteFacts
from ..store import Database
from ..vault.services import VaultService
from .fhir import questionnaire_responses
from .fhir import risk_assessment
from .forms import Checked
from .forms import check_items
from .forms import check_risk

__all__ = ["EhrContact", "Escalation", "ReviewService"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EhrContact:
    key: str
    name: str
    kind: str


def _name(name: Any) -> str:
    if name is None:
        return "Name not recorded"
    if getattr(name, "text", None):
        return str(name.text)
    text = " ".join([*(name.given or []), name.family or ""]).strip()
    return text or "Name not recorded"


def _kind(relationships: Any, default: str) -> str:
    for concept in relationships or []:
        for coding in concept.coding or []:
            if coding.code == "portal-proxy" or "proxy" in (coding.display or "").lower():
                return "Portal proxy"
    for concept in relationships or []:
        for coding in concept.coding or []:
            if coding.display:
                return str(coding.display)
    return default


DRAFT = "screening-draft"
SLII_IDS = frozenset(item.link_id for section in SLII for item in section.items)
VIOLENCE_IDS = frozenset(
    factor.id for domain in RISK_DOMAINS if domain.key == "violence" for factor in domain.factors
)
ALL_FACTORS = tuple(f for d in RISK_DOMAINS for f in d.factors) + tuple(DANGEROUS_TIMES)


class NoClient(PluginError):
    error = "no_client"
    description = "Open a client's chart first: a review belongs to one client."
    status_code = 400


@dataclass(frozen=True)
class Escalation:
    """What changed since the client's previous review (empty lists: nothing new)."""

    previous_on: str | None
    new_tactics: list[str] = field(default_factory=list)
    more_frequent: list[str] = field(default_factory=list)
    more_recent: list[str] = field(default_factory=list)
    new_violence: list[str] = field(default_factory=list)
    coming_dangerous_times: list[str] = field(default_factory=list)

    @property
    def escalating(self) -> bool:
        return bool(
            self.new_tactics
            or self.more_frequent
            or self.more_recent
            or self.new_violence
            or self.coming_dangerous_times
        )


def _rank(order: tuple[tuple[str, str], ...]) -> dict[str, int]:
    # FREQUENCIES and RECENCIES run from most to least frequent/recent.
    return {code: len(order) - i for i, (code, _) in enumerate(order)}


_FREQ = _rank(FREQUENCIES)
_RECENT = _rank(RECENCIES)
_TEXT = {item.link_id: item.text for section in SLII for item in section.items}
_FACTOR_TEXT = {factor.id: factor.text for factor in ALL_FACTORS}


class ReviewService:
    def __init__(
        self,
        db: Database,
        vault: VaultService,
        hark_enabled: Callable[[str], bool],
        fhir_for: Callable[[LiveLaunch], FhirClient],
    ) -> None:
        self._db = db
        self._vault = vault
        self._hark_enabled = hark_enabled
        self._fhir_for = fhir_for

    def ehr_contacts(self, live: LiveLaunch) -> list[EhrContact] | None:
        """Emergency contacts, related people and portal proxies in the EHR; None if unreadable.

        Shown on screen only; nothing about them is stored except which ones were flagged.
        """
        _, patient, _ = self._who(live)
        fhir = self._fhir_for(live)
        try:
            record = fhir.read("Patient", patient).resource
            related = fhir.search("RelatedPerson", {"patient": f"Patient/{patient}"})
        except SmartLaunchError as exc:
            log.info("contacts review unavailable: %s", exc.error)
            return None
        found = [
            EhrContact(f"contact-{n}", _name(c.name), _kind(c.relationship, "Emergency contact"))
            for n, c in enumerate(getattr(record, "contact", None) or [])
        ]
        found += [
            EhrContact(
                f"related-{p.id}",
                _name((getattr(p, "name", None) or [None])[0]),
                _kind(getattr(p, "relationship", None), "Related person"),
            )
            for p in related
            if p.get_resource_type() == "RelatedPerson"
        ]
        return found

    def flag_contacts(self, live: LiveLaunch, review_id: str, keys: list[str]) -> None:
        """Ask the practice admin to review this client's contacts and proxies; no reason given."""
        tenant, patient, author = self._who(live)
        draft = self.open(live, review_id)
        new = sorted(set(keys) - set(draft.get("flagged_contacts", [])))
        if not new:
            return
        draft["flagged_contacts"] = sorted({*draft.get("flagged_contacts", []), *new})
        self._save(live, review_id, draft)
        self._vault.notices.notify_role(
            tenant=tenant, role="admin", kind="contact-review", actor=author, patient_id=patient
        )

    def sections(self, tenant: str) -> tuple[Section, ...]:
        extra = (HARK,) if self._hark_enabled(tenant) else ()
        return (OPENING, *SLII, FEAR, *extra)

    @staticmethod
    def _who(live: LiveLaunch) -> tuple[str, str, str]:
        context = live.context
        if context.patient is None or context.fhir_user_reference is None:
            raise NoClient
        return context.tenant, context.patient, context.fhir_user_reference

    def start(self, live: LiveLaunch) -> str:
        tenant, patient, author = self._who(live)
        draft = {
            "content_version": CONTENT_VERSION,
            "answers": {},
            "risk": {},
            "plan": {},
            "pending": {},
            "errors": {},
            "flagged_contacts": [],
        }
        with self._db.session() as session:
            return self._vault.put(
                session,
                tenant=tenant,
                patient_id=patient,
                record_type=DRAFT,
                author=author,
                content=draft,
            )

    def open(self, live: LiveLaunch, review_id: str) -> dict[str, Any]:
        """The draft, for this client and this clinician only (the launch is checked here)."""
        tenant, patient, author = self._who(live)
        return self._vault.read(
            tenant=tenant, patient_id=patient, record_id=review_id, actor=author
        )

    def _save(self, live: LiveLaunch, review_id: str, draft: dict[str, Any]) -> None:
        tenant, patient, author = self._who(live)
        self._vault.replace(
            tenant=tenant, patient_id=patient, record_id=review_id, actor=author, content=draft
        )

    def _merge(self, draft: dict[str, Any], key: str, checked: Checked, names: set[str]) -> None:
        target = draft.setdefault(key, {})
        for name in names:
            target.pop(name, None)
            draft["pending"].pop(name, None)
        target.update(checked.values)
        draft["pending"].update(checked.pending)
        draft["errors"] = checked.errors

    def save_screening(self, live: LiveLaunch, review_id: str, form: Mapping[str, str]) -> Checked:
        draft = self.open(live, review_id)
        items = [item for section in self.sections(live.context.tenant) for item in section.items]
        checked = check_items(items, form)
        names = {
            n for i in items for n in (i.link_id, f"{i.link_id}.frequency", f"{i.link_id}.recency")
        }
        self._merge(draft, "answers", checked, names & set(form))
        self._save(live, review_id, draft)
        return checked

    def premarks(self, answers: Mapping[str, str]) -> dict[str, str]:
        """Factors the screening answers already show, with the reason shown on screen."""
        marked: dict[str, str] = {}
        for factor in ALL_FACTORS:
            for rule in factor.premarked_by:
                if answers.get(rule.link_id) in rule.answers:
                    marked.setdefault(factor.id, rule.why)
        return marked

    def save_risk(self, live: LiveLaunch, review_id: str, form: Mapping[str, str]) -> Checked:
        draft = self.open(live, review_id)
        checked = check_risk([f.id for f in ALL_FACTORS], form)
        names = {n for f in ALL_FACTORS for n in (f"{f.id}.mark", f"{f.id}.note")}
        self._merge(draft, "risk", checked, (names | {"concern", "rationale"}) & set(form))
        self._save(live, review_id, draft)
        return checked

    def save_plan(self, live: LiveLaunch, review_id: str, form: Mapping[str, str]) -> Checked:
        draft = self.open(live, review_id)
        items = [item for section in SAFETY_PLAN for item in section.prompts]
        checked = check_items(items, form)
        self._merge(draft, "plan", checked, {i.link_id for i in items} & set(form))
        self._save(live, review_id, draft)
        return checked

    def drafts(self, live: LiveLaunch) -> list[Any]:
        """This clinician's unfinished reviews of this client (metadata only), newest first."""
        tenant, patient, author = self._who(live)
        return [
            s
            for s in self._vault.summaries(tenant=tenant, patient_id=patient)
            if s.record_type == DRAFT and s.author == author and s.destroyed_at is None
        ]

    def previous(self, live: LiveLaunch) -> list[dict[str, Any]]:
        """This clinician's finished reviews of this client, newest first."""
        tenant, patient, author = self._who(live)
        return [
            self._vault.read(tenant=tenant, patient_id=patient, record_id=s.id, actor=author)
            for s in self._vault.summaries(tenant=tenant, patient_id=patient)
            if s.record_type == "risk-review" and s.author == author and s.destroyed_at is None
        ]

    def escalation(self, live: LiveLaunch, draft: Mapping[str, Any]) -> Escalation:
        history = self.previous(live)
        if not history:
            return Escalation(previous_on=None)
        before = history[0]
        now_a, then_a = draft.get("answers", {}), before.get("answers", {})
        now_r, then_r = draft.get("risk", {}), before.get("risk", {})
        return Escalation(
            previous_on=str(before.get("finished_on", ""))[:10] or None,
            new_tactics=[
                _TEXT[i]
                for i in sorted(SLII_IDS)
                if now_a.get(i) == "yes" and then_a.get(i) != "yes"
            ],
            more_frequent=[
                _TEXT[i]
                for i in sorted(SLII_IDS)
                if _FREQ.get(now_a.get(f"{i}.frequency", ""), 0)
                > _FREQ.get(then_a.get(f"{i}.frequency", ""), 0)
                > 0
            ],
            more_recent=[
                _TEXT[i]
                for i in sorted(SLII_IDS)
                if _RECENT.get(now_a.get(f"{i}.recency", ""), 0)
                > _RECENT.get(then_a.get(f"{i}.recency", ""), 0)
                > 0
            ],
            new_violence=[
                _FACTOR_TEXT[f]
                for f in sorted(VIOLENCE_IDS)
                if now_r.get(f"{f}.mark") == "present" and then_r.get(f"{f}.mark") != "present"
            ],
            coming_dangerous_times=[
                t.text for t in DANGEROUS_TIMES if now_r.get(f"{t.id}.mark") == "present"
            ],
        )

    def finish(self, live: LiveLaunch, review_id: str) -> NoteFacts:
        """Store the finished records and return the facts for the minimal note."""
        tenant, patient, author = self._who(live)
        draft = self.open(live, review_id)
        if draft.get("errors"):
            raise PluginError("Some answers still need attention before the review is finished.")
        now = datetime.now(UTC)
        answers, risk = draft.get("answers", {}), draft.get("risk", {})
        responses = questionnaire_responses(
            self.sections(tenant), answers, patient_id=patient, author=author, when=now
        )
        assessment = risk_assessment(
            risk,
            concern=risk.get("concern"),
            rationale=risk.get("rationale"),
            patient_id=patient,
            author=author,
            when=now,
        )
        with self._db.session() as session:
            common = {"tenant": tenant, "patient_id": patient, "author": author}
            self._vault.put(
                session,
                record_type="screening",
                content={"questionnaire_responses": [r.model_dump(mode="json") for r in responses]},
                **common,
            )
            self._vault.put(
                session,
                record_type="risk-review",
                content={
                    "risk_assessment": assessment.model_dump(mode="json"),
                    "answers": answers,
                    "risk": risk,
                    "finished_on": now.isoformat(),
                },
                **common,
            )
            if draft.get("plan"):
                self._vault.put(
                    session, record_type="safety-plan", content={"plan": draft["plan"]}, **common
                )
        self._vault.discard(tenant=tenant, patient_id=patient, record_id=review_id, actor=author)
        return NoteFacts(
            session_date=now.date(),
            screening_completed=bool(answers),
            risk_review_completed=bool(risk),
            overall_concern=risk.get("concern"),
            safety_plan_offered=bool(draft.get("plan")),
            safety_plan_accepted=None,
            referral_offered=False,
            referral_accepted=None,
            follow_up=None,
            suicide_risk_followup=False,
        )
