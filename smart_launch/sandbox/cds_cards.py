# SPDX-License-Identifier: Apache-2.0
"""CDS Hooks 2.0 cards as the EHR reads them from a service's answer.

CDS Hooks 2.0, "CDS Service Response" (https://cds-hooks.hl7.org/2.0/#cds-service-response):
a card has a ``summary`` (required), an ``indicator`` of ``info``, ``warning`` or
``critical`` (required), a ``source`` with a ``label`` (required), and optionally a ``uuid``
(echoed in feedback), a ``detail`` (GitHub Flavored Markdown), ``overrideReasons`` (Codings)
and ``links`` of type ``absolute`` or ``smart`` (a ``smart`` link may carry ``appContext``).
The EHR shows the text exactly as received; the templates escape it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "INDICATORS",
    "Card",
    "CardLink",
    "CardsInvalid",
    "OverrideReason",
    "parse_cards",
]

INDICATORS: tuple[str, ...] = ("info", "warning", "critical")


class CardsInvalid(ValueError):
    """A service's answer is not a CDS Hooks response the EHR can show."""


@dataclass(frozen=True)
class CardLink:
    """One ``link`` of a card."""

    label: str
    url: str
    type: str
    app_context: str | None = None

    @property
    def is_smart(self) -> bool:
        return self.type == "smart"

    @property
    def is_web(self) -> bool:
        """An ``absolute`` link to an http(s) page (anything else is not made clickable)."""
        return self.type == "absolute" and self.url.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class OverrideReason:
    """A Coding the user may pick when going on against a card."""

    code: str
    system: str | None
    display: str

    def coding(self) -> dict[str, str]:
        """The Coding as sent back in feedback (no empty values)."""
        coding = {"code": self.code, "display": self.display}
        if self.system:
            coding["system"] = self.system
        return coding


@dataclass(frozen=True)
class Card:
    """One card, as received."""

    summary: str
    indicator: str
    source_label: str
    uuid: str | None = None
    detail: str | None = None
    source_url: str | None = None
    links: tuple[CardLink, ...] = ()
    override_reasons: tuple[OverrideReason, ...] = ()

    @property
    def source_is_web(self) -> bool:
        return bool(self.source_url) and str(self.source_url).lower().startswith(
            ("https://", "http://")
        )


def _text(data: dict[str, Any], name: str, where: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise CardsInvalid(f"{where}.{name} must be a non-empty string.")
    return value


def _link(data: object, where: str) -> CardLink:
    if not isinstance(data, dict):
        raise CardsInvalid(f"{where} must be an object.")
    kind = _text(data, "type", where, required=True)
    if kind not in {"absolute", "smart"}:
        raise CardsInvalid(f"{where}.type must be absolute or smart.")
    app_context = _text(data, "appContext", where, required=False)
    return CardLink(
        label=str(_text(data, "label", where, required=True)),
        url=str(_text(data, "url", where, required=True)),
        type=str(kind),
        app_context=app_context if kind == "smart" else None,
    )


def _reason(data: object, where: str) -> OverrideReason:
    if not isinstance(data, dict):
        raise CardsInvalid(f"{where} must be a Coding.")
    code = _text(data, "code", where, required=True)
    display = _text(data, "display", where, required=False) or code
    return OverrideReason(str(code), _text(data, "system", where, required=False), str(display))


def _list(data: dict[str, Any], name: str, where: str) -> list[Any]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise CardsInvalid(f"{where}.{name} must be a list.")
    return value


def _card(data: object, where: str) -> Card:
    if not isinstance(data, dict):
        raise CardsInvalid(f"{where} must be an object.")
    indicator = _text(data, "indicator", where, required=True)
    if indicator not in INDICATORS:
        raise CardsInvalid(f"{where}.indicator must be one of {', '.join(INDICATORS)}.")
    source = data.get("source")
    if not isinstance(source, dict):
        raise CardsInvalid(f"{where}.source must be an object.")
    links = _list(data, "links", where)
    reasons = _list(data, "overrideReasons", where)
    return Card(
        summary=str(_text(data, "summary", where, required=True)),
        indicator=str(indicator),
        source_label=str(_text(source, "label", f"{where}.source", required=True)),
        uuid=_text(data, "uuid", where, required=False),
        detail=_text(data, "detail", where, required=False),
        source_url=_text(source, "url", f"{where}.source", required=False),
        links=tuple(_link(item, f"{where}.links[{i}]") for i, item in enumerate(links)),
        override_reasons=tuple(
            _reason(item, f"{where}.overrideReasons[{i}]") for i, item in enumerate(reasons)
        ),
    )


def parse_cards(body: object) -> tuple[Card, ...]:
    """The cards of a service response ``{"cards": [...]}``.

    :raises CardsInvalid: when the body or any card is malformed; the EHR then treats the
        service as not having answered rather than showing part of what it said.
    """
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        raise CardsInvalid("The response has no cards list.")
    return tuple(_card(item, f"cards[{i}]") for i, item in enumerate(body["cards"]))
