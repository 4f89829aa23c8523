# SPDX-License-Identifier: Apache-2.0
"""axe-core in the browser tests: WCAG 2.1 A and AA checks of one page or frame.

axe-core comes from npm (``package.json`` pins the exact version; ``npm ci`` installs it into
``node_modules/``), never from a CDN.  A missing or stale copy is a failure, never a skip.

Injection: Quietline's CSP is ``script-src 'self'`` without ``'unsafe-inline'``, so Playwright's
``add_script_tag`` (an inline ``<script>``) is blocked, and rightly so.  The source is instead
evaluated with ``frame.evaluate``, which runs through the DevTools protocol and is not subject to
the page's CSP; the app's policy is left exactly as it is served (the tests also assert that the
browser reported no CSP violation while axe ran).

Each document is checked on its own (``iframes: false``): the EHR chart is one check, the
Quietline page in its iframe another, so every violation names the page it belongs to.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "AXE_SOURCE",
    "FAILING_IMPACTS",
    "TAGS",
    "Violation",
    "ViolationNode",
    "assert_accessible",
    "axe_version",
    "check",
    "format_violations",
]

ROOT = Path(__file__).resolve().parents[2]
AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = ROOT / "node_modules" / "axe-core" / "package.json"
PACKAGE_JSON = ROOT / "package.json"

TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
"""The rule sets run: WCAG 2.0 and 2.1, levels A and AA (issue 4: WCAG 2.1 AA)."""

FAILING_IMPACTS = frozenset({"serious", "critical"})
"""Impacts that fail a test; ``minor`` and ``moderate`` are printed as warnings."""

_RUN = """
async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
    iframes: false,
  });
  const rulesRun = results.violations.length + results.passes.length
    + results.incomplete.length + results.inapplicable.length;
  return {
    url: results.url,
    rulesRun: rulesRun,
    violations: results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target.map((part) => Array.isArray(part) ? part.join(" >> ") : part),
        html: n.html,
        summary: n.failureSummary || "",
      })),
    })),
  };
}
"""


@dataclass(frozen=True)
class ViolationNode:
    """One element that breaks a rule: its selector, its markup, and what to fix."""

    target: str
    html: str
    summary: str


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with every element that breaks it."""

    context: str
    url: str
    rule: str
    impact: str
    help: str
    help_url: str
    nodes: tuple[ViolationNode, ...]

    @property
    def fails(self) -> bool:
        return self.impact in FAILING_IMPACTS

    def describe(self) -> str:
        lines = [f"[{self.impact}] {self.rule}: {self.help} ({self.help_url})"]
        lines += [f"    at {self.context} ({self.url})"]
        for node in self.nodes:
            lines.append(f"    - {node.target}: {node.html}")
            lines.extend(
                f"        {line.strip()}" for line in node.summary.splitlines() if line.strip()
            )
        return "\n".join(lines)


def _pinned_version() -> str:
    try:
        package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
        return str(package["dependencies"]["axe-core"])
    except (OSError, KeyError, ValueError) as exc:
        pytest.fail(f"{PACKAGE_JSON} does not pin axe-core: {exc}", pytrace=False)


@functools.cache
def _axe_source() -> str:
    if not AXE_SOURCE.is_file():
        pytest.fail(
            f"axe-core is not installed ({AXE_SOURCE} is missing): run `npm ci` in {ROOT} "
            "(`make test` does it). Accessibility tests never skip.",
            pytrace=False,
        )
    installed = json.loads(AXE_PACKAGE.read_text(encoding="utf-8"))["version"]
    pinned = _pinned_version()
    if installed != pinned:
        pytest.fail(
            f"node_modules has axe-core {installed} but package.json pins {pinned}: run `npm ci`.",
            pytrace=False,
        )
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_version() -> str:
    """The pinned axe-core version (after checking that exactly it is installed)."""
    _axe_source()
    return _pinned_version()


def _frame(target: Any) -> Any:
    """A Playwright ``Frame``: ``target`` itself, or a ``Page``'s main frame."""
    return getattr(target, "main_frame", target)


def _inject(frame: Any) -> None:
    version = axe_version()
    present = frame.evaluate("() => (window.axe && window.axe.version) || null")
    if present == version:
        return
    # Runs via the DevTools protocol (Runtime.evaluate), so the page's CSP does not apply.
    frame.evaluate(_axe_source() + "\n;undefined")
    loaded = frame.evaluate("() => (window.axe && window.axe.version) || null")
    assert loaded == version, f"axe-core {version} did not load in {frame.url} (got {loaded!r})"


def check(page_or_frame: Any, *, context: str) -> list[Violation]:
    """Run axe-core's WCAG 2.1 A/AA rules on the document of a ``Page`` or ``Frame``.

    ``context`` names the page in reports (for example ``"notes editor with findings"``).
    Returns every violation, whatever its impact.
    """
    frame = _frame(page_or_frame)
    frame.wait_for_load_state("load")
    _inject(frame)
    result = frame.evaluate(_RUN, list(TAGS))
    assert result["rulesRun"] > 0, f"axe-core ran no rules on {context} ({frame.url})"
    return [
        Violation(
            context=context,
            url=result["url"],
            rule=item["id"],
            impact=item["impact"] or "unknown",
            help=item["help"],
            help_url=item["helpUrl"],
            nodes=tuple(
                ViolationNode(" ".join(node["target"]), node["html"], node["summary"])
                for node in item["nodes"]
            ),
        )
        for item in result["violations"]
    ]


def format_violations(violations: list[Violation]) -> str:
    return "\n".join(violation.describe() for violation in violations)


def assert_accessible(target: Any, context: str) -> list[Violation]:
    """Fail on any serious or critical violation; print minor and moderate ones as warnings.

    Returns all violations found (so a caller can collect them for a report).
    """
    violations = check(target, context=context)
    warnings = [violation for violation in violations if not violation.fails]
    failures = [violation for violation in violations if violation.fails]
    if warnings:
        print(  # noqa: T201 - the brief: minor and moderate findings are reported, not failed
            f"axe-core warnings (minor/moderate) on {context}:\n{format_violations(warnings)}"
        )
    if failures:
        nodes = sum(len(violation.nodes) for violation in failures)
        pytest.fail(
            f"axe-core {axe_version()}: {len(failures)} serious or critical WCAG 2.1 A/AA "
            f"violation(s), {nodes} element(s), on {context}:\n{format_violations(failures)}",
            pytrace=False,
        )
    return violations
