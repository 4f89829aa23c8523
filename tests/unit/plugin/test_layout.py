# SPDX-License-Identifier: Apache-2.0
"""The package shape of docs/architecture.md, checked on the source and on a built app."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from flask import Blueprint
from flask import Flask

from plugin.audit.interfaces import AuditSink
from plugin.audit.services import SqlAuditLog
from plugin.crypto.interfaces import KeyProvider
from plugin.registry import get_service
from plugin.tenants.interfaces import TenantRepository
from plugin.tenants.services import SqlTenantRepository

PLUGIN = Path(__file__).resolve().parents[3] / "plugin"
CAPABILITIES = sorted(p.parent.name for p in PLUGIN.glob("*/views.py"))


def _modules() -> list[Path]:
    return sorted(p for p in PLUGIN.rglob("*.py") if "migrations" not in p.parts)


def _calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    ]


def _template_prefix(call: ast.Call) -> str | None:
    """The folder of a rendered template name: a literal, or an f-string's literal start."""
    if not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        text = first.value
    elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
        text = str(first.values[0].value)
    else:
        return None
    return text.split("/", 1)[0] if "/" in text else ""


def test_the_capability_packages_are_the_documented_ones() -> None:
    documented = ("admin", "cds", "codeword", "health", "home", "launch", "notes")
    assert tuple(CAPABILITIES) == (*documented, "screening")


@pytest.mark.parametrize("package", CAPABILITIES)
def test_each_capability_defines_its_one_blueprint_in_views(package: str) -> None:
    views = importlib.import_module(f"plugin.{package}.views")
    assert isinstance(views.bp, Blueprint)
    assert views.bp.import_name == f"plugin.{package}.views"
    assert views.bp.name == package


def test_no_module_outside_views_defines_a_blueprint() -> None:
    defining = {str(p.relative_to(PLUGIN)) for p in _modules() if _calls(p, "Blueprint")}
    assert defining == {f"{package}/views.py" for package in CAPABILITIES}


def test_no_module_attaches_routes_to_another_modules_blueprint() -> None:
    """Routes are declared in views.py; nothing adds them by being imported."""
    for path in _modules():
        if path.name == "views.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert "@bp." not in source, path
        assert "from .views import bp" not in source or path.name == "__init__.py", path


@pytest.mark.parametrize("package", CAPABILITIES)
def test_package_init_files_hold_no_wiring(package: str) -> None:
    source = (PLUGIN / package / "__init__.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assert not [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert "register_blueprint" not in source
    assert "register_service" not in source


def test_views_render_only_their_own_packages_templates() -> None:
    seen = 0
    for path in _modules():
        package = path.relative_to(PLUGIN).parts[0]
        for call in _calls(path, "render_template"):
            prefix = _template_prefix(call)
            assert prefix is not None, f"{path}: template name is not a literal"
            seen += 1
            if path.parent == PLUGIN:  # app-wide pages: base.html and error.html
                assert prefix == "", path
            else:
                assert prefix == package, f"{path} renders a {prefix}/ template"
    assert seen > 10


def test_services_are_registered_only_by_the_app_factory() -> None:
    registering = {str(p.relative_to(PLUGIN)) for p in _modules() if _calls(p, "register_service")}
    assert registering == {"app.py"}


def test_services_are_registered_under_their_protocols(flask_app: Flask) -> None:
    services = flask_app.extensions["plugin"]
    assert isinstance(get_service(AuditSink, flask_app), SqlAuditLog)
    assert isinstance(get_service(TenantRepository, flask_app), SqlTenantRepository)
    assert get_service(KeyProvider, flask_app) is not None
    assert SqlAuditLog not in services
    assert SqlTenantRepository not in services


def test_every_blueprint_is_registered_on_the_app(flask_app: Flask) -> None:
    assert set(flask_app.blueprints) == set(CAPABILITIES)
