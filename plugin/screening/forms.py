# SPDX-License-Identifier: Apache-2.0
"""Parse and check screening, risk-review and safety-plan forms against the content.

Nothing is dropped: values that fail a check are kept in the draft as typed, with a message per
field, so the clinician can correct them without re-entering anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from ..content import ANSWERS
from ..content import CONTENT_VERSION
from ..content import FREQUENCIES
from ..content import RECENCIES
from ..content import Item

__all__ = [
    "CONCERNS",
    "MARKS",
    "Checked",
    "check_items",
    "check_risk",
]

MARKS = ("present", "absent", "unknown")
CONCERNS = ("low", "moderate", "high")
CONTROL_FIELDS = frozenset({"csrf", "content_version", "action"})
MAX_NOTE = 1000
_FIELD = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass
class Checked:
    """Valid values, the raw values that failed, and one message per failing field."""

    values: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, raw: str, message: str) -> None:
        self.pending[name] = raw[: MAX_NOTE * 4]
        self.errors[name] = message


def _codes(pairs: Iterable[tuple[str, str]]) -> set[str]:
    return {code for code, _ in pairs}


def _check_version(form: Mapping[str, str], checked: Checked) -> None:
    version = form.get("content_version", "")
    if version != CONTENT_VERSION:
        checked.errors["content_version"] = (
            "These questions were updated since this page was opened. Your answers are kept; "
            "check them against the current wording and save again."
        )


def _check_item(item: Item, form: Mapping[str, str], checked: Checked) -> None:
    raw = form.get(item.link_id)
    if raw is not None and raw != "":
        if item.kind == "answer" and raw not in ANSWERS:
            checked.fail(item.link_id, raw, "Choose yes, no, unsure or not asked.")
        elif item.kind == "choice" and raw not in _codes(item.choices):
            checked.fail(item.link_id, raw, "Choose one of the listed options.")
        elif item.kind in {"text", "answer", "choice"} and len(raw) > item.max_length:
            checked.fail(item.link_id, raw, f"Keep this under {item.max_length} characters.")
        elif item.kind == "date" and not _is_date(raw):
            checked.fail(item.link_id, raw, "Enter a date as YYYY-MM-DD.")
        else:
            checked.values[item.link_id] = raw
    for suffix, allowed, wanted in (
        ("frequency", FREQUENCIES, item.asks_frequency),
        ("recency", RECENCIES, item.asks_recency),
    ):
        name = f"{item.link_id}.{suffix}"
        value = form.get(name)
        if not wanted or not value:
            continue
        if value not in _codes(allowed):
            checked.fail(name, value, f"Choose one of the listed {suffix} options.")
        else:
            checked.values[name] = value


def _is_date(raw: str) -> bool:
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def check_items(items: Iterable[Item], form: Mapping[str, str]) -> Checked:
    """Check a screening page: known items only, allowed values, lengths, content version."""
    checked = Checked()
    _check_version(form, checked)
    known: set[str] = set()
    for item in items:
        known.update({item.link_id, f"{item.link_id}.frequency", f"{item.link_id}.recency"})
        _check_item(item, form, checked)
    for name, raw in form.items():
        if name in CONTROL_FIELDS or name in known:
            continue
        safe = name if _FIELD.match(name) else "unknown"
        checked.errors[f"unknown:{safe}"] = (
            f"'{safe}' is not a question in this version of the form; it was not saved."
        )
        del raw
    return checked


def _choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...], checked: Checked) -> None:
    value = form.get(name, "")
    if not value:
        return
    if value in allowed:
        checked.values[name] = value
    else:
        checked.fail(name, value, f"Choose {', '.join(allowed[:-1])} or {allowed[-1]}.")


def _text(form: Mapping[str, str], name: str, limit: int, checked: Checked) -> None:
    value = form.get(name, "")
    if not value:
        return
    if len(value) > limit:
        checked.fail(name, value, f"Keep this under {limit} characters.")
    else:
        checked.values[name] = value


def check_risk(factor_ids: Iterable[str], form: Mapping[str, str]) -> Checked:
    """Check the risk review: a mark and an optional note per factor, concern and rationale."""
    checked = Checked()
    _check_version(form, checked)
    known = {"concern", "rationale"}
    for factor in factor_ids:
        known.update({f"{factor}.mark", f"{factor}.note"})
        _choice(form, f"{factor}.mark", MARKS, checked)
        _text(form, f"{factor}.note", MAX_NOTE, checked)
    _choice(form, "concern", CONCERNS, checked)
    _text(form, "rationale", MAX_NOTE * 2, checked)
    for name in form:
        if name not in known and name not in CONTROL_FIELDS:
            safe = name if _FIELD.match(name) else "unknown"
            checked.errors[f"unknown:{safe}"] = f"'{safe}' is not part of the risk review."
    return checked
