# SPDX-License-Identifier: Apache-2.0
"""Settings, read once from the environment and frozen.

One secret per purpose.  In the embedded default (``development``) a missing secret is created
in the instance folder with mode 0600 on first run; in ``production`` a missing secret stops the
app at startup.  There is no built-in fallback secret.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["Settings"]

_ENVIRONMENTS = {"development", "production", "testing"}


def _decode(raw: str, name: str) -> bytes:
    """base64url with or without padding."""
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not base64url.") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number.") from exc


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of seconds.")
    return value


def _read_or_create_secret(path: Path, *, create: bool, size: int = 32) -> bytes:
    if path.exists():
        value = _decode(path.read_text(encoding="ascii").strip(), path.name)
        if len(value) < size:
            raise ConfigurationError(f"Secret file {path.name} is too short.")
        return value
    if not create:
        raise ConfigurationError(f"Secret {path.name} is not configured.")
    value = secrets.token_bytes(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(value).decode("ascii"))
    return value


def _secret(env: Mapping[str, str], name: str, path: Path, *, create: bool) -> bytes:
    raw = env.get(name)
    if raw:
        value = _decode(raw, name)
        if len(value) < 32:
            raise ConfigurationError(f"{name} must hold at least 32 bytes.")
        return value
    return _read_or_create_secret(path, create=create)


@dataclass(frozen=True)
class Settings:
    """Quietline's configuration.  Build with :meth:`from_env`; tests pass values directly."""

    environment: str
    instance_path: Path
    database_url: str
    public_url: str
    secret_key: bytes = field(repr=False)
    token_key: bytes = field(repr=False)
    client_keys_path: Path
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 10 * 60 * 60
    launch_state_seconds: int = 600
    max_content_length: int = 256 * 1024
    log_level: str = "INFO"
    key_backend: str = "local"
    key_file: Path | None = None
    pkcs11_library: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    outbox_worker: bool = False
    """Run the outbox worker as a thread in this process (the embedded default)."""
    outbox_interval: float = 1.0
    outbox_scope: str = "system/DocumentReference.c system/Provenance.c system/Communication.c"
    reconcile_interval: float = 60.0
    """Seconds between bypass-detection passes when the worker runs as a thread."""
    reconcile_scope: str = "system/Appointment.rs"
    audit_anchor_path: Path | None = None
    """Folder of the audit checkpoint files (default ``<instance>/audit-anchors``)."""
    audit_checkpoint_interval: float = 300.0
    """Seconds between audit checkpoints when the worker runs as a thread."""

    @property
    def audit_anchors(self) -> Path:
        """The folder audit checkpoints are appended to (a write-once volume in production)."""
        return self.audit_anchor_path or self.instance_path / "audit-anchors"

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/callback"

    @property
    def launch_url(self) -> str:
        return self.public_url.rstrip("/") + "/launch"

    @property
    def jwks_url(self) -> str:
        return self.public_url.rstrip("/") + "/.well-known/jwks.json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``PLUGIN_*`` variables (and ``DATABASE_URL``) once.

        :raises ConfigurationError: for an unknown environment or, in production, a missing
            secret.
        """
        env = os.environ if environ is None else environ
        environment = env.get("PLUGIN_ENV", "development")
        if environment not in _ENVIRONMENTS:
            raise ConfigurationError(f"PLUGIN_ENV must be one of {sorted(_ENVIRONMENTS)}.")
        instance = Path(env.get("PLUGIN_INSTANCE_PATH", "instance")).resolve()
        create = environment != "production"
        database_url = env.get("DATABASE_URL") or env.get("PLUGIN_DATABASE_URL")
        if not database_url:
            if not create:
                raise ConfigurationError("DATABASE_URL is not configured.")
            database_url = f"sqlite:///{instance / 'quietline.db'}"
        public_url = env.get("PLUGIN_PUBLIC_URL", "http://localhost:8701")
        keys_path = Path(env.get("PLUGIN_CLIENT_KEYS") or str(instance / "client_keys.json"))
        if not create and not keys_path.exists():
            raise ConfigurationError("PLUGIN_CLIENT_KEYS does not name an existing key file.")
        key_backend = env.get("PLUGIN_KEY_BACKEND", "local")
        if key_backend not in ("local", "pkcs11"):
            raise ConfigurationError("PLUGIN_KEY_BACKEND must be local or pkcs11.")
        if not create and key_backend == "local" and not env.get("PLUGIN_KEY_FILE"):
            raise ConfigurationError(
                "In production set PLUGIN_KEY_FILE (kept apart from database backups) "
                "or PLUGIN_KEY_BACKEND=pkcs11."
            )
        pin = env.get("PLUGIN_PKCS11_PIN")
        if not pin and env.get("PLUGIN_PKCS11_PIN_FILE"):
            pin = Path(env["PLUGIN_PKCS11_PIN_FILE"]).read_text(encoding="utf-8").strip()
        return cls(
            environment=environment,
            key_backend=key_backend,
            key_file=Path(env.get("PLUGIN_KEY_FILE") or instance / "keys.json"),
            pkcs11_library=env.get("PLUGIN_PKCS11_LIBRARY"),
            pkcs11_token=env.get("PLUGIN_PKCS11_TOKEN"),
            pkcs11_pin=pin,
            outbox_worker=env.get(
                "PLUGIN_OUTBOX_WORKER", "thread" if environment == "development" else "off"
            )
            == "thread",
            outbox_interval=float(env.get("PLUGIN_OUTBOX_INTERVAL") or 1.0),
            outbox_scope=env.get("PLUGIN_OUTBOX_SCOPE")
            or "system/DocumentReference.c system/Provenance.c system/Communication.c",
            reconcile_interval=float(env.get("PLUGIN_RECONCILE_INTERVAL") or 60.0),
            reconcile_scope=env.get("PLUGIN_RECONCILE_SCOPE") or "system/Appointment.rs",
            audit_anchor_path=Path(
                env.get("PLUGIN_AUDIT_ANCHOR_PATH") or instance / "audit-anchors"
            ).resolve(),
            audit_checkpoint_interval=_seconds(env, "PLUGIN_AUDIT_CHECKPOINT_INTERVAL", 300.0),
            instance_path=instance,
            database_url=database_url,
            public_url=public_url.rstrip("/"),
            secret_key=_secret(env, "PLUGIN_SECRET_KEY", instance / "secret_key", create=create),
            token_key=_secret(env, "PLUGIN_TOKEN_KEY", instance / "token_key", create=create),
            client_keys_path=keys_path,
            session_idle_seconds=_int(env, "PLUGIN_SESSION_IDLE_SECONDS", 30 * 60),
            session_absolute_seconds=_int(env, "PLUGIN_SESSION_ABSOLUTE_SECONDS", 36000),
            max_content_length=_int(env, "PLUGIN_MAX_CONTENT_LENGTH", 256 * 1024),
            log_level=env.get("PLUGIN_LOG_LEVEL", "INFO"),
        )
