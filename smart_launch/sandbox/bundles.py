# SPDX-License-Identifier: Apache-2.0
"""Searchset Bundles with paging links.

FHIR R4 "Search", section 3.1.1.7 (paging) and "Bundle": a searchset carries ``total``,
``link`` ``self``/``next``/``previous`` and entries with ``fullUrl`` and ``search.mode``
(``match``, or ``outcome`` for an OperationOutcome about the search itself).  The ``self``
link lists only the parameters the server used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlencode

from .fhir_http import operation_outcome

if TYPE_CHECKING:
    from .search import SearchRequest
    from .store import StoredResource

__all__ = ["searchset_bundle"]


def _page_url(fhir_base: str, search: SearchRequest, offset: int) -> str:
    pairs = [*search.used, ("_count", str(search.count)), ("_offset", str(offset))]
    return f"{fhir_base}/{search.resource_type}?{urlencode(pairs)}"


def _links(fhir_base: str, search: SearchRequest, total: int) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": _page_url(fhir_base, search, search.offset)}]
    if search.summary_count or not search.count:
        return links
    following = search.offset + search.count
    if following < total:
        links.append({"relation": "next", "url": _page_url(fhir_base, search, following)})
    if search.offset > 0:
        previous = max(search.offset - search.count, 0)
        links.append({"relation": "previous", "url": _page_url(fhir_base, search, previous)})
    return links


def searchset_bundle(
    fhir_base: str, search: SearchRequest, found: list[StoredResource]
) -> dict[str, Any]:
    """The page of ``found`` that ``search`` asks for (``_count``/``_offset``)."""
    page = [] if search.summary_count else found[search.offset : search.offset + search.count]
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{fhir_base}/{item.resource_type}/{item.id}",
            "resource": item.body,
            "search": {"mode": "match"},
        }
        for item in page
    ]
    if search.ignored:
        names = ", ".join(search.ignored)
        outcome = operation_outcome(
            "warning", "not-supported", f"Unknown search parameters were ignored: {names}."
        )
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": _links(fhir_base, search, len(found)),
        "entry": entries,
    }
