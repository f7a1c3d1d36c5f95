"""Settings come from the data directory's file, overridden by CHATPROOF_* variables; a bad
setting is named."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatproof.config import ConfigError, load_settings, resolve_data_dir
from chatproof.datadir import initialise


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings.server.port == 8025
    assert settings.database_url == f"sqlite:///{tmp_path / 'chatproof.sqlite3'}"


def test_init_writes_secrets_and_owner_only_files(tmp_path: Path) -> None:
    config = initialise(tmp_path / "d")
    settings = load_settings(tmp_path / "d", {})
    assert len(settings.whatsapp.app_secret) == 64
    assert settings.whatsapp.verify_token and settings.server.api_token
    assert settings.whatsapp.access_token
    for path in (config, tmp_path / "d/keys/master.key", tmp_path / "d/keys/signing.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "app_secret" not in repr(settings)
    assert settings.whatsapp.app_secret not in repr(settings)


def test_init_never_overwrites(tmp_path: Path) -> None:
    initialise(tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        initialise(tmp_path)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    initialise(tmp_path)
    settings = load_settings(
        tmp_path,
        {
            "CHATPROOF_SERVER_PORT": "9000",
            "CHATPROOF_WHATSAPP_PROVIDER": "360dialog",
            "CHATPROOF_MEDIA_RETRY_BASE_SECONDS": "0.5",
            "CHATPROOF_DATABASE_URL": "postgresql://db/x",
        },
    )
    assert settings.server.port == 9000
    assert settings.whatsapp.provider == "360dialog"
    assert settings.media.retry_base_seconds == 0.5
    assert settings.database_url == "postgresql://db/x"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[server]\nport = 'high'\n", {}, "server.port must be int"),
        ("[server]\nprot = 1\n", {}, "unknown setting server.prot"),
        ("[sever]\n", {}, r"unknown section \[sever\]"),
        ("[server\n", {}, "chatproof.toml"),
        ("", {"CHATPROOF_SERVER_PORT": "x"}, "CHATPROOF_SERVER_PORT must be int"),
    ],
)
def test_bad_settings_are_named(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    (tmp_path / "chatproof.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, environ)


def test_data_dir_option_then_environment_then_default() -> None:
    env = {"CHATPROOF_DATA_DIR": "/srv/cp"}
    assert resolve_data_dir("/opt/x", env) == Path("/opt/x")
    assert resolve_data_dir(None, env) == Path("/srv/cp")
    assert resolve_data_dir(None, {}) == Path("./chatproof-data")
