# SPDX-License-Identifier: Apache-2.0
"""Live servers for tests: Quietline on ``localhost`` and the sandbox EHR on ``127.0.0.1``.

The two hosts are different sites, as in the demo, so browser tests exercise the cross-site
iframe for real.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from plugin.app import create_app
from plugin.config import Settings
from plugin.demo import DEMO_ROLE_MAPPING
from plugin.demo import cds_client_options
from plugin.demo import sandbox_clients
from plugin.launch.scopes import DEFAULT_SCOPE
from plugin.registry import get_service
from plugin.server import ServerThread
from plugin.tenants.interfaces import TenantRepository
from plugin.tenants.services import BackendClient
from plugin.tenants.services import SqlTenantRepository
from plugin.tenants.services import TenantRegistration
from smart_launch.sandbox.config import ClientRegistration
from smart_launch.sandbox.config import SandboxConfig
from smart_launch.sandbox.server import RunningSandbox
from smart_launch.sandbox.server import start


class DeferredApp:
    """A WSGI callable whose app is set after the server is bound (the URL must be known)."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


def make_settings(instance: Path, database_url: str, public_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "testing",
        "instance_path": instance,
        "database_url": database_url,
        "public_url": public_url,
        "secret_key": secrets.token_bytes(32),
        "token_key": secrets.token_bytes(32),
        "client_keys_path": instance / "client_keys.json",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Quietline:
    app: Flask
    settings: Settings
    server: ServerThread

    @property
    def url(self) -> str:
        return self.settings.public_url

    @property
    def tenants(self) -> SqlTenantRepository:
        repository = get_service(TenantRepository, self.app)
        assert isinstance(repository, SqlTenantRepository)
        return repository

    def stop(self) -> None:
        self.server.stop()


def start_quietline(instance: Path, database_url: str, **overrides: Any) -> Quietline:
    deferred = DeferredApp()
    server = ServerThread("127.0.0.1", 0, deferred)
    settings = make_settings(instance, database_url, f"http://localhost:{server.port}", **overrides)
    deferred.app = create_app(settings)
    server.start()
    return Quietline(deferred.app, settings, server)


def start_sandbox(
    db_path: Path,
    quietline: Quietline,
    *,
    extra_clients: tuple[dict[str, Any], ...] = (),
    **config: Any,
) -> RunningSandbox:
    """The sandbox with Quietline registered as the demo registers it, plus ``extra_clients``.

    Each extra client gets Quietline's redirect and launch URLs unless it names its own.  The
    scheduling page calls Quietline's CDS service unless ``cds_services`` says otherwise (it
    can also be changed later: ``sandbox.config.cds_services = (...)``).
    """
    config.setdefault("cds_services", (f"{quietline.url}/cds-services",))
    defaults = sandbox_clients(quietline.settings)[0]
    clients = [ClientRegistration.from_dict(defaults)]
    for extra in extra_clients:
        merged = {
            "redirect_uris": defaults["redirect_uris"],
            "launch_url": defaults["launch_url"],
            "grant_types": defaults["grant_types"],
        }
        merged.update(extra)
        clients.append(ClientRegistration.from_dict(merged))
    return start(SandboxConfig(db_path=db_path, clients=clients, **config))


def register_sandbox_tenant(
    quietline: Quietline,
    sandbox: RunningSandbox,
    *,
    auth_method: str = "private_key_jwt",
    client_id: str = "quietline",
    client_secret: str | None = None,
    scope: str = DEFAULT_SCOPE,
    signing_alg: str = "RS384",
    options: dict[str, Any] | None = None,
    backend: BackendClient | None = None,
    backend_on_launch_client: bool = True,
) -> None:
    """Register the sandbox as tenant ``sandbox``, by default allowed as a CDS client.

    Without ``backend``, deferred writes use Backend Services on the launch client, as the
    demo's registration allows.
    """
    quietline.tenants.register(
        TenantRegistration(
            id="sandbox",
            name="Sandbox EHR",
            iss=sandbox.fhir_base,
            client_id=client_id,
            auth_method=auth_method,
            scope=scope,
            frame_origins=(sandbox.url,),
            role_mapping=DEMO_ROLE_MAPPING,
            client_secret=client_secret,
            signing_alg=signing_alg,
            options=cds_client_options(sandbox.url) if options is None else options,
            backend=backend,
            backend_on_launch_client=backend_on_launch_client,
        )
    )


def map_admin_as_clinician(quietline: Quietline, sandbox: RunningSandbox) -> None:
    """Give ``Practitioner/admin`` the clinician role too (a second clinician for break-glass)."""
    mapping = {**DEMO_ROLE_MAPPING, "users": {"Practitioner/admin": ["clinician"]}}
    register_sandbox_tenant(quietline, sandbox)
    view = quietline.tenants.by_id("sandbox")
    quietline.tenants.register(
        TenantRegistration(
            id=view.id, name=view.name, iss=view.iss, client_id=view.client_id,
            auth_method=view.auth_method, scope=view.scope, frame_origins=view.frame_origins,
            role_mapping=mapping,
        )
    )  # fmt: skip


def random_b64() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
