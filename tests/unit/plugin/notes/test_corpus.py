# SPDX-License-Identifier: Apache-2.0
"""Precision and recall of the note linter on the labelled corpus in tests/data/notes.

A finding matches a label when the categories are equal and the finding's span overlaps the
span of the labelled excerpt.  Precision counts findings that match some label; recall counts
labels matched by some finding.  The figures are printed (run pytest with ``-s``) and copied
into docs/notes-linter.md; the asserts are quality gates, not the measured values.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from plugin.notes.linter import Finding
from plugin.notes.linter import lint
from plugin.notes.rules import CATEGORIES

DATA = Path(__file__).parents[4] / "tests" / "data" / "notes"
# corpus.json was written before the rules and used while improving them (development set);
# heldout.json was written after the rules and not used to change them.
FILES = ("corpus.json", "heldout.json")


@dataclass
class Tally:
    """Counts for one category (or all of them)."""

    findings: int = 0
    true_findings: int = 0
    labels: int = 0
    found_labels: int = 0
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_findings / self.findings if self.findings else 1.0

    @property
    def recall(self) -> float:
        return self.found_labels / self.labels if self.labels else 1.0


def _label_spans(text: str, excerpt: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(excerpt)
    while start >= 0:
        spans.append((start, start + len(excerpt)))
        start = text.find(excerpt, start + 1)
    return spans


def _overlaps(finding: Finding, span: tuple[int, int]) -> bool:
    return finding.start < span[1] and span[0] < finding.end


def load_corpus(files: tuple[str, ...] = FILES) -> list[dict[str, object]]:
    notes: list[dict[str, object]] = []
    for name in files:
        notes.extend(json.loads((DATA / name).read_text(encoding="utf-8")))
    return notes


def score(files: tuple[str, ...] = FILES) -> dict[str, Tally]:
    tallies = {category: Tally() for category in (*CATEGORIES, "overall")}
    for note in load_corpus(files):
        text = str(note["text"])
        labels = [(d["category"], _label_spans(text, d["excerpt"])) for d in note["expected"]]  # type: ignore[attr-defined]
        findings = lint(text)
        for finding in findings:
            hit = any(
                c == finding.category and any(_overlaps(finding, s) for s in spans)
                for c, spans in labels
            )
            for key in (finding.category, "overall"):
                tallies[key].findings += 1
                tallies[key].true_findings += hit
                if not hit:
                    tallies[key].false.append(finding.excerpt)
        for category, spans in labels:
            hit = any(
                f.category == category and any(_overlaps(f, s) for s in spans) for f in findings
            )
            for key in (category, "overall"):
                tallies[key].labels += 1
                tallies[key].found_labels += hit
                if not hit:
                    tallies[key].misses.append(text[spans[0][0] : spans[0][1]])
    return tallies


def test_corpus_is_large_and_labelled_honestly() -> None:
    notes = load_corpus()
    assert len(notes) >= 60
    clean = [n for n in notes if not n["expected"]]
    assert len(clean) >= 20
    for note in notes:
        for label in note["expected"]:  # type: ignore[attr-defined]
            assert label["category"] in CATEGORIES
            assert label["excerpt"] in note["text"]  # type: ignore[operator]
    counts = {c: sum(t.labels for k, t in score().items() if k == c) for c in CATEGORIES}
    assert min(counts.values()) >= 3, counts


def test_precision_and_recall_meet_quality_gates() -> None:
    tallies = score()
    lines = ["", "category                 labels findings precision recall"]
    lines += [
        f"{name:24} {t.labels:6} {t.findings:8} {t.precision:9.2f} {t.recall:6.2f}"
        for name, t in tallies.items()
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    overall = tallies.pop("overall")
    assert overall.precision >= 0.85
    assert overall.recall >= 0.85
    for name, t in tallies.items():
        assert t.recall >= 0.7, (name, t.misses)
