# SPDX-License-Identifier: Apache-2.0
"""Settings.from_env: secrets per purpose, created only outside production."""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path

import pytest

from plugin.config import Settings
from plugin.errors import ConfigurationError


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode("ascii")


def _production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keys = tmp_path / "client_keys.json"
    keys.write_text("{}", encoding="utf-8")
    env = {
        "PLUGIN_ENV": "production",
        "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": "postgresql://db.internal/quietline",
        "PLUGIN_SECRET_KEY": _b64(secrets.token_bytes(32)),
        "PLUGIN_TOKEN_KEY": _b64(secrets.token_bytes(32)),
        "PLUGIN_CLIENT_KEYS": str(keys),
        "PLUGIN_KEY_FILE": str(tmp_path / "kek" / "keys.json"),
    }
    env.update(extra)
    return env


def test_development_creates_secret_files_with_mode_0600(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    settings = Settings.from_env({"PLUGIN_INSTANCE_PATH": str(instance)})

    assert settings.environment == "development"
    for name in ("secret_key", "token_key"):
        path = instance / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert base64.urlsafe_b64decode(path.read_text(encoding="ascii")) in {
            settings.secret_key,
            settings.token_key,
        }
    assert len(settings.secret_key) == 32
    assert len(settings.token_key) == 32
    assert settings.secret_key != settings.token_key


def test_development_reuses_the_secret_files_on_the_next_call(tmp_path: Path) -> None:
    env = {"PLUGIN_INSTANCE_PATH": str(tmp_path / "instance")}
    first = Settings.from_env(env)
    second = Settings.from_env(env)

    assert second.secret_key == first.secret_key
    assert second.token_key == first.token_key


def test_development_defaults_to_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    settings = Settings.from_env({"PLUGIN_INSTANCE_PATH": str(instance)})

    assert settings.database_url == f"sqlite:///{instance.resolve() / 'quietline.db'}"
    assert settings.client_keys_path == instance.resolve() / "client_keys.json"


def test_database_url_wins_over_the_default(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": "postgresql://db.internal/quietline",
            "PLUGIN_DATABASE_URL": "sqlite:///other.db",
        }
    )

    assert settings.database_url == "postgresql://db.internal/quietline"


def test_production_with_everything_configured_reads_the_environment(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    settings = Settings.from_env(env)

    assert settings.environment == "production"
    assert settings.secret_key == base64.urlsafe_b64decode(env["PLUGIN_SECRET_KEY"])
    assert settings.token_key == base64.urlsafe_b64decode(env["PLUGIN_TOKEN_KEY"])
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize("missing", ["PLUGIN_SECRET_KEY", "PLUGIN_TOKEN_KEY", "DATABASE_URL"])
def test_production_refuses_a_missing_setting(tmp_path: Path, missing: str) -> None:
    env = _production_env(tmp_path)
    del env[missing]

    with pytest.raises(ConfigurationError):
        Settings.from_env(env)
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "instance" / "token_key").exists()


def test_production_refuses_a_missing_client_key_file(tmp_path: Path) -> None:
    env = _production_env(tmp_path, PLUGIN_CLIENT_KEYS=str(tmp_path / "absent.json"))

    with pytest.raises(ConfigurationError, match="PLUGIN_CLIENT_KEYS"):
        Settings.from_env(env)


def test_production_with_nothing_configured_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(
            {"PLUGIN_ENV": "production", "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance")}
        )
    assert not (tmp_path / "instance").exists()


def test_production_reads_secret_files_provisioned_in_the_instance_folder(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["PLUGIN_SECRET_KEY"]
    del env["PLUGIN_TOKEN_KEY"]
    instance = tmp_path / "instance"
    instance.mkdir()
    secret, token = secrets.token_bytes(32), secrets.token_bytes(32)
    (instance / "secret_key").write_text(_b64(secret), encoding="ascii")
    (instance / "token_key").write_text(_b64(token), encoding="ascii")

    settings = Settings.from_env(env)

    assert settings.secret_key == secret
    assert settings.token_key == token


def test_secret_file_in_unpadded_base64url_is_read_like_the_environment_variable(
    tmp_path: Path,
) -> None:
    # secrets.token_urlsafe(32) is unpadded base64url; PLUGIN_SECRET_KEY accepts it, so the
    # same value provisioned as a file must work too.
    env = _production_env(tmp_path)
    del env["PLUGIN_TOKEN_KEY"]
    instance = tmp_path / "instance"
    instance.mkdir()
    value = secrets.token_urlsafe(32)
    (instance / "token_key").write_text(value + "\n", encoding="ascii")

    settings = Settings.from_env(env)

    assert settings.token_key == base64.urlsafe_b64decode(value + "=")


def test_secret_file_that_is_too_short_is_refused(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text(_b64(secrets.token_bytes(16)), encoding="ascii")

    with pytest.raises(ConfigurationError, match="too short"):
        Settings.from_env({"PLUGIN_INSTANCE_PATH": str(instance)})


def test_environment_secret_without_padding_is_accepted(tmp_path: Path) -> None:
    value = secrets.token_urlsafe(32)
    settings = Settings.from_env(
        {"PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"), "PLUGIN_SECRET_KEY": value}
    )

    assert settings.secret_key == base64.urlsafe_b64decode(value + "=")
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize(
    "value",
    [
        _b64(secrets.token_bytes(31)),
        "a" * 45,
        "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%",
        "dev",
    ],
    ids=["31-bytes", "impossible-length", "not-base64", "short-word"],
)
def test_environment_secret_must_be_base64url_of_at_least_32_bytes(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigurationError, match="PLUGIN_TOKEN_KEY"):
        Settings.from_env(
            {"PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"), "PLUGIN_TOKEN_KEY": value}
        )


@pytest.mark.parametrize("environment", ["prod", "Production", "staging", ""])
def test_unknown_environment_is_refused(tmp_path: Path, environment: str) -> None:
    with pytest.raises(ConfigurationError, match="PLUGIN_ENV"):
        Settings.from_env(
            {"PLUGIN_ENV": environment, "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance")}
        )
    assert not (tmp_path / "instance").exists()


def test_derived_urls_come_from_the_public_url(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
            "PLUGIN_PUBLIC_URL": "https://quietline.example.org/app/",
        }
    )

    assert settings.public_url == "https://quietline.example.org/app"
    assert settings.redirect_uri == "https://quietline.example.org/app/callback"
    assert settings.launch_url == "https://quietline.example.org/app/launch"
    assert settings.jwks_url == "https://quietline.example.org/app/.well-known/jwks.json"


def test_numeric_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
            "PLUGIN_SESSION_IDLE_SECONDS": "60",
            "PLUGIN_SESSION_ABSOLUTE_SECONDS": "120",
            "PLUGIN_MAX_CONTENT_LENGTH": "1000",
            "PLUGIN_LOG_LEVEL": "WARNING",
        }
    )

    assert settings.session_idle_seconds == 60
    assert settings.session_absolute_seconds == 120
    assert settings.max_content_length == 1000
    assert settings.log_level == "WARNING"


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    settings = Settings.from_env({"PLUGIN_INSTANCE_PATH": str(tmp_path / "instance")})

    text = repr(settings)
    assert repr(settings.secret_key) not in text
    assert repr(settings.token_key) not in text
    assert "secret_key" not in text


def test_production_needs_a_key_file_or_an_hsm(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["PLUGIN_KEY_FILE"]
    with pytest.raises(ConfigurationError, match="PLUGIN_KEY_FILE"):
        Settings.from_env(env)
    env["PLUGIN_KEY_BACKEND"] = "pkcs11"
    assert Settings.from_env(env).key_backend == "pkcs11"


def test_unknown_key_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PLUGIN_KEY_BACKEND"):
        Settings.from_env(_production_env(tmp_path, PLUGIN_KEY_BACKEND="cloud"))


def test_audit_checkpoints_default_to_the_instance_folder_every_five_minutes(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "instance"
    settings = Settings.from_env({"PLUGIN_INSTANCE_PATH": str(instance)})

    assert settings.audit_anchor_path == instance.resolve() / "audit-anchors"
    assert settings.audit_anchors == settings.audit_anchor_path
    assert settings.audit_checkpoint_interval == 300.0


def test_audit_checkpoint_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
            "PLUGIN_AUDIT_ANCHOR_PATH": str(tmp_path / "worm"),
            "PLUGIN_AUDIT_CHECKPOINT_INTERVAL": "60",
        }
    )

    assert settings.audit_anchors == (tmp_path / "worm").resolve()
    assert settings.audit_checkpoint_interval == 60.0


@pytest.mark.parametrize("interval", ["0", "-5", "soon", "nan", "inf"])
def test_an_unusable_checkpoint_interval_is_refused(tmp_path: Path, interval: str) -> None:
    with pytest.raises(ConfigurationError, match="PLUGIN_AUDIT_CHECKPOINT_INTERVAL"):
        Settings.from_env(
            {
                "PLUGIN_INSTANCE_PATH": str(tmp_path / "instance"),
                "PLUGIN_AUDIT_CHECKPOINT_INTERVAL": interval,
            }
        )


def test_settings_built_in_code_keep_checkpoints_in_the_instance_folder(tmp_path: Path) -> None:
    settings = Settings(
        environment="testing",
        instance_path=tmp_path,
        database_url="sqlite://",
        public_url="http://localhost",
        secret_key=bytes(32),
        token_key=bytes(32),
        client_keys_path=tmp_path / "keys.json",
    )

    assert settings.audit_anchor_path is None
    assert settings.audit_anchors == tmp_path / "audit-anchors"
