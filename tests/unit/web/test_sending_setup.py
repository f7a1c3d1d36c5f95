"""``[sending]``, ``[automations]`` and ``[templates]`` become the sending services' values;
a wrong setting is a ConfigError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatproof.config import ConfigError, Settings, load_settings
from chatproof.domain.policy import TemplateCategory
from chatproof.web.sending_setup import DEFAULT_OPT_OUT_CONFIRMATION, sending_setup


def settings_with(tmp_path: Path, toml: str, **env: str) -> Settings:
    (tmp_path / "chatproof.toml").write_text(toml, encoding="utf-8")
    return load_settings(tmp_path, env)


def test_defaults(tmp_path: Path) -> None:
    setup = sending_setup(settings_with(tmp_path, ""))
    assert setup.worker.messages_per_second == 80.0
    assert setup.sending.policy.messaging_limit == 250
    assert setup.automations.opt_out_confirmation == DEFAULT_OPT_OUT_CONFIRMATION
    assert setup.automations.hours is None and not setup.automations.privacy_notice


def test_everything_configured(tmp_path: Path) -> None:
    toml = """
[sending]
messages_per_second = 20.0
messaging_limit = 2000
stop_keywords = ["HALT"]

[automations]
privacy_notice_de = "Datenschutz: https://example.de"
hours_mon = "09:00-17:00"
holiday_state = "NW"
closed_days = ["2026-12-24"]
faq_enabled = true

[[automations.faq]]
name = "hours"
answer = "Mo 9-17"
any = ["öffnungszeiten"]

[[automations.quick_reply]]
name = "thanks"
text = "Danke, {name}!"

[[templates.template]]
name = "news"
language = "de"
category = "marketing"
body_params = 1
"""
    setup = sending_setup(settings_with(tmp_path, toml))
    assert setup.worker.messages_per_second == 20.0
    assert setup.sending.policy.messaging_limit == 2000
    assert setup.automations.matcher.match("halt") is not None
    assert setup.automations.hours is not None and setup.automations.hours.state == "NW"
    assert setup.sending.catalogue.get("news", "de").category is TemplateCategory.MARKETING
    assert setup.quick_replies == {"thanks": "Danke, {name}!"}
    assert setup.automations.faq[0].name == "hours"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[sending]\nmessaging_limit = 1000\n", "sending.messaging_limit"),
        ("[sending]\nmessages_per_second = 0.0\n", "sending.messages_per_second"),
        ('[automations]\nhours_mon = "9-5"\n', "hours.mon"),
        ('[automations]\nholiday_state = "XX"\n', "automations.holiday_state"),
        ('[[automations.faq]]\nname = "x"\nanswer = "y"\n', "automations.faq[0].any"),
        ('[[automations.quick_reply]]\nname = "x"\n', "automations.quick_reply[0]"),
        ('[[templates.template]]\nname = "x"\nlanguage = "de"\n', "templates.template[0]"),
    ],
)
def test_a_wrong_setting_is_named(tmp_path: Path, toml: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        sending_setup(settings_with(tmp_path, toml))
