# SPDX-License-Identifier: Apache-2.0
"""The production package: what ships in it, what it depends on, and the demo without the sandbox.

The package list is computed the way the build computes it, with setuptools' ``find_packages``
and the ``[tool.setuptools.packages.find]`` table of pyproject.toml, so no build (and no
download of a build backend) is needed.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from setuptools import find_packages

from plugin.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_TOOLS = {"pytest", "pytest-cov", "pytest-flask", "mypy", "ruff", "playwright"}


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    for stop in "[<>=!~;":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def test_the_package_has_the_app_but_not_the_sandbox_ehr(pyproject: dict[str, Any]) -> None:
    find = pyproject["tool"]["setuptools"]["packages"]["find"]

    packages = find_packages(
        where=str(ROOT), include=find.get("include", ["*"]), exclude=find.get("exclude", ())
    )

    assert (ROOT / "smart_launch" / "sandbox" / "__init__.py").exists()
    assert "plugin" in packages
    assert "plugin.vault" in packages
    assert "smart_launch" in packages
    assert [p for p in packages if p.startswith("smart_launch.sandbox")] == []
    assert [p for p in packages if p.split(".")[0] not in {"plugin", "smart_launch"}] == []


def test_the_package_declares_click_and_no_development_tools(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for reqs in project.get("optional-dependencies", {}).values() for r in reqs}

    assert {"click", "flask", "requests"} <= runtime
    assert not (runtime | extras) & DEVELOPMENT_TOOLS


def test_test_and_lint_requirements_are_listed_once(pyproject: dict[str, Any]) -> None:
    groups = pyproject["dependency-groups"]
    extras = pyproject["project"].get("optional-dependencies", {})
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")

    assert {"pytest", "pytest-cov", "gunicorn"} <= {_name(r) for r in groups["test"]}
    assert {"mypy", "ruff"} <= {_name(r) for r in groups["lint"]}
    assert not {"test", "lint"} & set(extras)
    assert "--group test --group lint" in makefile


def test_demo_without_the_sandbox_says_it_needs_a_source_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An installed wheel has no smart_launch.sandbox; a None entry makes the import fail the same.
    monkeypatch.setitem(sys.modules, "smart_launch.sandbox", None)

    result = CliRunner().invoke(main, ["demo", "--data", str(tmp_path / "demo")])

    assert result.exit_code == 1
    assert "source checkout" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "demo").exists()
