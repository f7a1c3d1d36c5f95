from __future__ import annotations

import pytest

from chatproof.emulator import EmulatorError, EmulatorSettings
from chatproof.emulator.settings import DEFAULT_MESSAGES_PER_SECOND, DEFAULT_PHONE_NUMBER_ID


def test_defaults_mirror_the_platform() -> None:
    settings = EmulatorSettings(app_secret="s", access_token="t")
    assert settings.messages_per_second == DEFAULT_MESSAGES_PER_SECOND == 80
    assert settings.media_url_ttl == 300
    assert settings.phone_number_id == DEFAULT_PHONE_NUMBER_ID
    assert settings.webhook_url is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"access_token": ""}, "access_token"),
        ({"phone_number_id": "abc"}, "phone_number_id"),
        ({"messages_per_second": 0}, "messages_per_second"),
        ({"status_delay": -1.0}, "status_delay"),
        ({"webhook_timeout": 0.0}, "webhook_timeout"),
        ({"webhook_secret_header": ("", "x")}, "webhook_secret_header"),
    ],
)
def test_impossible_settings_are_refused(overrides: dict[str, object], field: str) -> None:
    options: dict[str, object] = {"app_secret": "s", "access_token": "t", **overrides}
    with pytest.raises(EmulatorError, match=field):
        EmulatorSettings(**options)  # type: ignore[arg-type]


def test_settings_from_environment() -> None:
    settings = EmulatorSettings.from_env(
        {
            "CHATPROOF_EMULATOR_APP_SECRET": "secret",
            "CHATPROOF_EMULATOR_ACCESS_TOKEN": "token",
            "CHATPROOF_EMULATOR_WEBHOOK_URL": "http://127.0.0.1:8000/webhooks/whatsapp",
            "CHATPROOF_EMULATOR_MESSAGES_PER_SECOND": "5",
            "CHATPROOF_EMULATOR_STATUS_DELAY": "0.5",
            "CHATPROOF_EMULATOR_WEBHOOK_SECRET_HEADER": "X-Token: abc",
            "CHATPROOF_EMULATOR_RANDOM_SEED": "",
            "UNRELATED": "x",
        }
    )
    assert settings.app_secret == "secret"
    assert settings.messages_per_second == 5
    assert settings.status_delay == 0.5
    assert settings.webhook_secret_header == ("X-Token", "abc")
    assert settings.random_seed is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CHATPROOF_EMULATOR_APP_SECRET": "s"}, "ACCESS_TOKEN is required"),
        (
            {
                "CHATPROOF_EMULATOR_APP_SECRET": "s",
                "CHATPROOF_EMULATOR_ACCESS_TOKEN": "t",
                "CHATPROOF_EMULATOR_MESSAGES_PER_SECOND": "many",
            },
            "MESSAGES_PER_SECOND",
        ),
    ],
)
def test_bad_environment_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(EmulatorError, match=message):
        EmulatorSettings.from_env(environ)
