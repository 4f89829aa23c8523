# SPDX-License-Identifier: Apache-2.0
"""``quietline tenant``: register, refresh and list EHRs (the ``iss`` allow-list)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

from smart_launch.discovery import ConfigurationCache
from smart_launch.errors import IssuerNotAllowed
from smart_launch.errors import SmartLaunchError
from smart_launch.errors import UpstreamUnavailable
from smart_launch.launch import normalize_iss

from ..app import create_app
from ..config import Settings
from ..launch.scopes import DEFAULT_SCOPE
from ..registry import get_service
from .interfaces import TenantRepository
from .services import BackendClient
from .services import TenantRegistration

__all__ = ["tenant"]


@click.group()
def tenant() -> None:
    """EHR registrations (the iss allow-list)."""


@tenant.command("add")
@click.option("--id", "tenant_id", required=True)
@click.option("--name", required=True)
@click.option("--iss", required=True, help="The EHR's FHIR base URL.")
@click.option("--client-id", required=True)
@click.option(
    "--auth-method",
    type=click.Choice(["private_key_jwt", "client_secret_basic"]),
    default="private_key_jwt",
    show_default=True,
)
@click.option("--signing-alg", type=click.Choice(["RS384", "ES384"]), default="RS384")
@click.option("--client-secret-env", help="Environment variable holding the client secret.")
@click.option("--frame-origin", "frame_origins", multiple=True, required=True)
@click.option("--role-mapping", type=click.Path(exists=True, path_type=Path))
@click.option("--scope", default=DEFAULT_SCOPE)
@click.option(
    "--cds-client",
    "cds_clients",
    nargs=2,
    multiple=True,
    metavar="ISS JKU",
    help="Allow CDS Hooks calls signed by this EHR issuer with keys from this JWKS URL.",
)
@click.option("--backend-client-id", help="The EHR's separate Backend Services client id.")
@click.option(
    "--backend-auth-method",
    type=click.Choice(["private_key_jwt", "client_secret_basic"]),
    default="private_key_jwt",
    show_default=True,
)
@click.option("--backend-signing-alg", type=click.Choice(["RS384", "ES384"]), default="RS384")
@click.option("--backend-client-secret-env", help="Environment variable holding its secret.")
@click.option("--backend-scope", help="Its system/ scopes (default: what Quietline uses).")
@click.option(
    "--backend-on-launch-client/--no-backend-on-launch-client",
    default=False,
    show_default=True,
    help="Without a backend client: use Backend Services with the launch client's id and keys.",
)
@click.option(
    "--offline-access/--no-offline-access",
    default=False,
    show_default=True,
    help="Ask for offline_access (EHRs that give refresh tokens only for it).",
)
def tenant_add(  # noqa: PLR0917  (one parameter per click option)
    tenant_id: str,
    name: str,
    iss: str,
    client_id: str,
    auth_method: str,
    signing_alg: str,
    client_secret_env: str | None,
    frame_origins: tuple[str, ...],
    role_mapping: Path | None,
    scope: str,
    cds_clients: tuple[tuple[str, str], ...],
    backend_client_id: str | None,
    backend_auth_method: str,
    backend_signing_alg: str,
    backend_client_secret_env: str | None,
    backend_scope: str | None,
    backend_on_launch_client: bool,
    offline_access: bool,
) -> None:
    """Register (or replace) an EHR."""
    import os  # noqa: PLC0415

    secret = os.environ.get(client_secret_env) if client_secret_env else None
    mapping = json.loads(role_mapping.read_text(encoding="utf-8")) if role_mapping else {}
    app = create_app()
    settings = get_service(Settings, app)
    backend = (
        BackendClient(
            client_id=backend_client_id,
            auth_method=backend_auth_method,
            signing_alg=backend_signing_alg,
            scope=backend_scope or f"{settings.outbox_scope} {settings.reconcile_scope}",
            client_secret=(
                os.environ.get(backend_client_secret_env) if backend_client_secret_env else None
            ),
        )
        if backend_client_id
        else None
    )
    configuration = _discover(app, iss, required=False)
    get_service(TenantRepository, app).register(
        TenantRegistration(
            id=tenant_id,
            name=name,
            iss=iss,
            client_id=client_id,
            auth_method=auth_method,
            scope=scope,
            frame_origins=frame_origins,
            role_mapping=mapping,
            client_secret=secret,
            signing_alg=signing_alg,
            options=_tenant_options(cds_clients, offline_access=offline_access),
            backend=backend,
            backend_on_launch_client=backend_on_launch_client,
            smart_configuration=configuration,
        )
    )
    click.echo(f"registered {tenant_id}")


def _discover(app: Flask, iss: str, *, required: bool = True) -> dict[str, object] | None:
    """Fetch and validate the EHR's SMART configuration once; what to keep of it.

    An EHR that cannot be reached yet is registered without one when ``required`` is false:
    ``quietline tenant refresh`` (or its first standalone sign-in) fetches it later.

    :raises click.ClickException: when the configuration does not allow a sign-in, or cannot
        be fetched and ``required`` is true.
    """
    try:
        return get_service(ConfigurationCache, app).get(normalize_iss(iss)).stored()
    except UpstreamUnavailable as exc:
        if required:
            raise click.ClickException(exc.description) from exc
        click.echo(
            "warning: the EHR's SMART configuration could not be fetched; run "
            "`quietline tenant refresh` once the EHR is reachable",
            err=True,
        )
        return None
    except SmartLaunchError as exc:
        raise click.ClickException(exc.description) from exc


@tenant.command("refresh")
@click.argument("tenant_id")
def tenant_refresh(tenant_id: str) -> None:
    """Fetch an EHR's SMART configuration again and keep it (after the EHR changed it)."""
    app = create_app()
    tenants = get_service(TenantRepository, app)
    try:
        view = tenants.by_id(tenant_id)
    except IssuerNotAllowed as exc:
        raise click.ClickException(f"no tenant {tenant_id}") from exc
    configuration = _discover(app, view.iss)
    if configuration is not None:
        tenants.store_configuration(view.id, configuration)
    click.echo(f"refreshed {tenant_id}")


def _tenant_options(
    cds_clients: tuple[tuple[str, str], ...], *, offline_access: bool
) -> dict[str, object]:
    options: dict[str, object] = {}
    if cds_clients:
        options["cds"] = {"clients": [{"iss": i, "jku": j} for i, j in cds_clients]}
    if offline_access:
        options["offline_access"] = True
    return options


@tenant.command("list")
def tenant_list() -> None:
    """List registered EHRs."""
    app = create_app()
    for view in get_service(TenantRepository, app).all():
        click.echo(f"{view.id}\t{view.iss}\t{view.client_id}\t{view.auth_method}")
