# SPDX-License-Identifier: Apache-2.0
"""The canary scanner finds a canary in every form a leak could take, and only there."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import quote
from urllib.parse import quote_plus

import pytest

from tests.support.canaries import base64_fragments
from tests.support.canaries import changed_files
from tests.support.canaries import read_tree
from tests.support.canaries import scan
from tests.support.canaries import snapshot
from tests.support.canaries import variants

CANARY = "Tante Ørsolyné 88 Canaryvale"


def _encodings(canary: str) -> dict[str, bytes]:
    raw = canary.encode()
    places = {
        "verbatim": b"xx" + raw + b"yy",
        "upper": canary.upper().encode(),
        "hex": raw.hex().upper().encode(),
        "quote": quote(canary).encode(),
        "quote-all": quote(canary, safe="").lower().encode(),
        "quote-plus": quote_plus(canary).encode(),
        "json-ascii": json.dumps({"v": canary}).encode(),
        "json-unicode": json.dumps({"v": canary}, ensure_ascii=False).encode(),
    }
    for prefix in range(3):
        blob = b"p" * prefix + raw + b"suffix"
        places[f"b64-{prefix}"] = base64.standard_b64encode(blob)
        places[f"b64url-{prefix}"] = base64.urlsafe_b64encode(b"\xfb\xff" + blob).rstrip(b"=")
    return places


@pytest.mark.parametrize("place", sorted(_encodings(CANARY)))
def test_each_encoding_is_found(place: str) -> None:
    leaks = scan({place: _encodings(CANARY)[place]}, [CANARY])
    assert leaks, f"{place} not found"
    assert {leak.place for leak in leaks} == {place}
    assert {leak.canary for leak in leaks} == {CANARY}


def test_unrelated_content_is_not_reported() -> None:
    clean = {
        "text": b"Safety screening completed. Referral offered.",
        "b64": base64.standard_b64encode(b"Tante Orsolyne 88 Canaryvalf" * 3),
        "hex": b"Tante".hex().encode(),
        "binary": bytes(range(256)) * 4,
    }
    assert scan(clean, [CANARY]) == []


def test_base64_fragments_match_the_canary_at_any_offset() -> None:
    raw = b"abcdefghijkl"
    fragments = base64_fragments(raw)
    assert fragments[0] == base64.standard_b64encode(raw)[:16]
    for prefix, fragment in enumerate(fragments):
        for filler in (b"\x00", b"\xff"):
            encoded = base64.standard_b64encode(filler * prefix + raw + filler)
            assert fragment in encoded
        assert fragment not in base64.standard_b64encode(b"\x00" * ((prefix + 1) % 3) + raw)


def test_variants_name_each_form_once() -> None:
    names = [variant.name for variant in variants(CANARY)]
    assert len(names) == len(set(names))
    for expected in ("verbatim", "hex", "url-quote-plus", "json-ascii", "base64+2"):
        assert expected in names
    # the URL-safe alphabet differs only where the encoding holds "+" or "/"
    assert "base64-url+0" in [variant.name for variant in variants("???>>>~~~???>>>")]


def test_a_leak_names_its_place_canary_and_form() -> None:
    [leak] = scan({"database:notes.body": CANARY.lower().encode()}, [CANARY])
    assert str(leak) == f"{CANARY!r} as verbatim in database:notes.body"


def test_changed_files_reports_new_and_modified_files_recursively(tmp_path: Path) -> None:
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"old")
    touched = tmp_path / "touched.txt"
    touched.write_text("before")
    skipped = tmp_path / "skipped"
    skipped.mkdir()
    before = snapshot(tmp_path, skip=(skipped,))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "new.db").write_bytes(b"\x00" + CANARY.encode() + b"\xff")
    touched.write_text("after, longer")
    os.utime(touched, ns=(1, 1))
    (skipped / "ignored").write_text(CANARY)

    changed = changed_files(before, tmp_path, skip=(skipped,))
    assert changed == sorted([nested / "new.db", touched])
    leaks = scan(read_tree(changed, "temp"), [CANARY])
    assert [leak.place for leak in leaks if leak.variant == "verbatim"] == [
        f"temp:{nested / 'new.db'}"
    ]
    assert scan(read_tree([tmp_path], "all"), [CANARY])  # folders are read recursively
