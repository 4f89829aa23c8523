# SPDX-License-Identifier: Apache-2.0
"""Parsing and evaluating FHIR R4 searches over stored resources.

FHIR R4 "Search" (https://hl7.org/fhir/R4/search.html):

- repeated parameters are ANDed, comma-separated values ORed;
- token ``[system]|[code]``, ``|code`` (no system) or ``code``; reference ``Type/id``, ``id`` or
  an absolute URL under the base; date prefixes ``eq ne gt lt ge le sa eb`` compared as ranges
  at the precision written (values without a time zone are taken as UTC);
- "Servers SHALL reject any search request that contains a search parameter with an
  unsupported modifier"; unknown parameters are ignored unless ``Prefer: handling=strict``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from .dates import DateRange
from .dates import parse_date_range
from .references import parse_reference
from .references import reference_version
from .references import values_at
from .search_params import ParamDef
from .search_params import param_def

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .store import StoredResource

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "Criterion",
    "SearchError",
    "SearchRequest",
    "matches",
    "parse_search",
    "sort_resources",
]

DEFAULT_COUNT = 50
MAX_COUNT = 200
_DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_IGNORED = frozenset({"_format", "_pretty", "_total"})
_MODIFIERS = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "missing"}),
    "reference": frozenset({"missing"}),
    "date": frozenset({"missing"}),
    "uri": frozenset({"missing"}),
    "id": frozenset(),
}


class SearchError(ValueError):
    """The search cannot be run as written (HTTP 400)."""


@dataclass(frozen=True)
class Criterion:
    """One search parameter occurrence: its values are ORed."""

    name: str
    modifier: str | None
    values: tuple[str, ...]
    definition: ParamDef


@dataclass
class SearchRequest:
    """A parsed search."""

    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: list[tuple[str, bool]] = field(default_factory=list)
    summary_count: bool = False
    ignored: list[str] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)


def _int_param(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SearchError(f"{name} must be a whole number, got '{value}'.") from None
    if number < 0:
        raise SearchError(f"{name} must not be negative.")
    return number


def parse_search(
    resource_type: str, pairs: Iterable[tuple[str, str]], *, strict: bool
) -> SearchRequest:
    """Parse query pairs for ``resource_type``.

    :raises SearchError: for an invalid value, an unsupported modifier, or (when ``strict``)
        an unknown parameter.
    """
    request = SearchRequest(resource_type)
    for key, value in pairs:
        name, _, modifier = key.partition(":")
        if name.startswith("_") and _result_param(request, name, key, value, strict=strict):
            continue
        definition = param_def(resource_type, name)
        if definition is None:
            if strict:
                raise SearchError(f"Unknown search parameter '{key}' for {resource_type}.")
            request.ignored.append(key)
            continue
        request.criteria.append(_criterion(name, modifier or None, value, definition))
        request.used.append((key, value))
    return request


def _result_param(request: SearchRequest, name: str, key: str, value: str, *, strict: bool) -> bool:
    """Apply a result parameter (``_count``, ``_sort``...); ``False`` if ``name`` is not one."""
    if name == "_count":
        request.count = min(_int_param(name, value), MAX_COUNT)
    elif name == "_offset":
        request.offset = _int_param(name, value)
    elif name == "_sort":
        request.sort = _parse_sort(request.resource_type, value, request, strict=strict)
        if request.sort:
            request.used.append((key, value))
    elif name == "_summary" and value == "count":
        request.summary_count = True
        request.used.append((key, value))
    else:
        return name in _IGNORED
    return True


def _parse_sort(
    resource_type: str, value: str, request: SearchRequest, *, strict: bool
) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        descending = item.startswith("-")
        name = item.lstrip("-")
        definition = param_def(resource_type, name)
        if definition is None or definition.kind not in {"date", "id"}:
            if strict:
                raise SearchError(f"Cannot sort {resource_type} by '{name}'.")
            request.ignored.append(f"_sort={item}")
            continue
        keys.append((name, descending))
    return keys


def _criterion(name: str, modifier: str | None, value: str, definition: ParamDef) -> Criterion:
    if modifier is not None and modifier not in _MODIFIERS[definition.kind]:
        is_type = definition.kind == "reference" and modifier[:1].isupper()
        if not is_type or (definition.targets and modifier not in definition.targets):
            raise SearchError(f"Unsupported modifier ':{modifier}' on search parameter {name}.")
    values = tuple(part for part in value.split(",") if part != "")
    if not values:
        raise SearchError(f"Search parameter {name} has no value.")
    if modifier == "missing":
        if values not in {("true",), ("false",)}:
            raise SearchError(f"{name}:missing must be true or false.")
    elif definition.kind == "date":
        for item in values:
            _date_query(item)
    return Criterion(name, modifier, values, definition)


def _date_query(value: str) -> tuple[str, DateRange]:
    prefix = value[:2] if value[:2] in _DATE_PREFIXES else "eq"
    text = value[2:] if value[:2] in _DATE_PREFIXES else value
    parsed = parse_date_range(text)
    if parsed is None:
        raise SearchError(f"'{value}' is not a valid FHIR date search value.")
    return prefix, parsed


# -- matching ------------------------------------------------------------------------------


def _element_values(resource: dict[str, Any], definition: ParamDef) -> list[Any]:
    found: list[Any] = []
    for path in definition.paths:
        found.extend(values_at(resource, path))
    return found


def matches(resource: dict[str, Any], criteria: Iterable[Criterion], fhir_base: str) -> bool:
    """Whether ``resource`` satisfies every criterion."""
    return all(_matches_one(resource, criterion, fhir_base) for criterion in criteria)


def _matches_one(resource: dict[str, Any], criterion: Criterion, fhir_base: str) -> bool:
    definition = criterion.definition
    found = _element_values(resource, definition)
    if definition.kind == "reference":
        found = [ref for ref in found if _reference_of(ref, definition, fhir_base) is not None]
    if criterion.modifier == "missing":
        return (not found) == (criterion.values == ("true",))
    if criterion.modifier == "not":
        return not any(_token_match(found, value) for value in criterion.values)
    return any(_value_matches(found, criterion, value, fhir_base) for value in criterion.values)


def _value_matches(found: list[Any], criterion: Criterion, value: str, fhir_base: str) -> bool:
    kind = criterion.definition.kind
    if kind == "id":
        return value in found
    if kind == "token":
        return _token_match(found, value)
    if kind == "uri":
        return any(isinstance(item, str) and item.split("|")[0] == value for item in found)
    if kind == "string":
        return _string_match(found, value, criterion.modifier)
    if kind == "date":
        prefix, query = _date_query(value)
        return any(_date_match(item, prefix, query) for item in found)
    return _reference_match(found, criterion, value, fhir_base)


def _codes(value: Any) -> list[tuple[str | None, str]]:
    """``(system, code)`` pairs of a code, Coding, CodeableConcept, Identifier or boolean."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str):
        return [(None, value)]
    if isinstance(value, dict):
        if isinstance(value.get("coding"), list):
            return [code for coding in value["coding"] for code in _codes(coding)]
        for element in ("code", "value"):
            if element in value:
                return [(value.get("system"), str(value[element]))]
    return []


def _token_match(found: list[Any], query: str) -> bool:
    system: str | None
    if "|" in query:
        system, code = query.split("|", 1)
    else:
        system, code = None, query
    for item in found:
        for item_system, item_code in _codes(item):
            if system is None:
                if item_code == code:
                    return True
            elif system == "":
                if item_system is None and item_code == code:
                    return True
            elif item_system == system and (code in {"", item_code}):
                return True
    return False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        parts: list[str] = []
        for key in ("text", "family", "given", "prefix", "suffix"):
            item = value.get(key)
            parts.extend([item] if isinstance(item, str) else [p for p in item or [] if p])
        return parts
    return []


def _string_match(found: list[Any], query: str, modifier: str | None) -> bool:
    for item in found:
        for text in _strings(item):
            if modifier == "exact":
                if text == query:
                    return True
            elif modifier == "contains":
                if _fold(query) in _fold(text):
                    return True
            elif _fold(text).startswith(_fold(query)):
                return True
    return False


def _date_range_of(value: Any) -> DateRange | None:
    if isinstance(value, str):
        return parse_date_range(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = parse_date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = parse_date_range(value["end"]) if isinstance(value.get("end"), str) else None
        return DateRange(
            DateRange.unbounded().low if start is None else start.low,
            DateRange.unbounded().high if end is None else end.high,
        )
    return None


def _date_match(value: Any, prefix: str, query: DateRange) -> bool:
    target = _date_range_of(value)
    if target is None:
        return False
    inside = query.low <= target.low and target.high <= query.high
    comparisons = {
        "eq": inside,
        "ne": not inside,
        "gt": target.high > query.high,
        "lt": target.low < query.low,
        "ge": target.high > query.high or inside,
        "le": target.low < query.low or inside,
        "sa": target.low >= query.high,
        "eb": target.high <= query.low,
    }
    return comparisons[prefix]


def _reference_of(value: Any, definition: ParamDef, fhir_base: str) -> tuple[str, str] | None:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return None
    parsed = parse_reference(value["reference"], fhir_base)
    if parsed is None or (definition.targets and parsed[0] not in definition.targets):
        return None
    return parsed


def _reference_match(found: list[Any], criterion: Criterion, value: str, fhir_base: str) -> bool:
    definition = criterion.definition
    wanted_type: str | None = criterion.modifier
    wanted = parse_reference(value, fhir_base)
    if wanted is not None:
        wanted_type, wanted_id = wanted
    elif "/" in value:
        return False
    else:
        wanted_id = value
    wanted_version = reference_version(value)
    for item in found:
        parsed = _reference_of(item, definition, fhir_base)
        if wanted_version is not None and reference_version(item["reference"]) != wanted_version:
            continue  # a versioned search matches that version only
        if (
            parsed is not None
            and parsed[1] == wanted_id
            and (wanted_type is None or parsed[0] == wanted_type)
        ):
            return True
    return False


# -- sorting -------------------------------------------------------------------------------


def sort_resources(
    resources: list[StoredResource], keys: list[tuple[str, bool]], resource_type: str
) -> list[StoredResource]:
    """Sort by ``keys`` (name, descending); resources without a value sort last."""
    ordered = list(resources)
    for name, descending in reversed(keys):
        definition = param_def(resource_type, name)
        if definition is None:
            continue

        def key(stored: StoredResource, definition: ParamDef = definition) -> str:
            if definition.kind == "id":
                return stored.id
            ranges = [_date_range_of(v) for v in _element_values(stored.body, definition)]
            lows = [r.low.isoformat() for r in ranges if r is not None]
            return min(lows) if lows else ""

        present = [item for item in ordered if key(item)]
        missing = [item for item in ordered if not key(item)]
        ordered = sorted(present, key=key, reverse=descending) + missing
    return ordered
