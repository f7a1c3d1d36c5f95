"""The template catalogue and the parameter check before a template reaches the platform."""

from __future__ import annotations

import pytest

from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import (
    TemplateCatalogue,
    TemplateProblem,
    TemplateSpec,
    check_parameters,
    from_platform,
    render_preview,
)

ORDER = TemplateSpec(
    "order_update", "de", TemplateCategory.UTILITY, body_params=2, text="Hallo {{1}}, {{2}}."
)
CATALOGUE = TemplateCatalogue([ORDER])


def test_lookup_by_name_and_language() -> None:
    assert CATALOGUE.get("order_update", "de") is ORDER
    with pytest.raises(TemplateProblem, match="languages: de"):
        CATALOGUE.get("order_update", "en")
    with pytest.raises(TemplateProblem, match="no template 'nope'"):
        CATALOGUE.get("nope", "de")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (["Anna"], "body_params"),
        (["Anna", "x", "y"], "body_params"),
        (["Anna", " "], "body_params[1]"),
    ],
)
def test_wrong_parameters_name_the_field(body: list[str], field: str) -> None:
    with pytest.raises(TemplateProblem) as raised:
        check_parameters(ORDER, body)
    assert raised.value.field == field


def test_right_parameters_pass_and_render() -> None:
    check_parameters(ORDER, ["Anna", "Ihr Paket ist unterwegs"])
    assert render_preview(ORDER, ["Anna", "Paket da"]) == "Hallo Anna, Paket da."


def test_from_configuration() -> None:
    spec = TemplateSpec.from_mapping(
        {"name": "news", "language": "de", "category": "MARKETING", "body_params": 1}, "t[0]"
    )
    assert (spec.category, spec.approved, spec.body_params) == (TemplateCategory.MARKETING, True, 1)
    paused = TemplateSpec.from_mapping(
        {"name": "n", "language": "de", "category": "utility", "status": "paused"}, "t[1]"
    )
    assert not paused.approved


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"language": "de", "category": "utility"}, "t.name"),
        ({"name": "n", "category": "utility"}, "t.language"),
        ({"name": "n", "language": "de", "category": "promo"}, "t.category"),
        (
            {"name": "n", "language": "de", "category": "utility", "body_params": -1},
            "t.body_params",
        ),
    ],
)
def test_bad_configuration_names_the_key(data: dict, field: str) -> None:
    with pytest.raises(TemplateProblem) as raised:
        TemplateSpec.from_mapping(data, "t")
    assert raised.value.field == field


SPEC_EXAMPLE = {
    "category": "MARKETING",
    "components": [
        {"format": "TEXT", "text": "Fall Sale", "type": "HEADER"},
        {
            "example": {"body_text": [["Mark", "FALL25"]]},
            "text": "Hi {{1}}, our Fall Sale is on! Use promo code {{2}} Get an extra 25% off!",
            "type": "BODY",
        },
        {"text": "Not interested? Tap Stop Promotions", "type": "FOOTER"},
        {"buttons": [{"text": "Stop promotions", "type": "QUICK_REPLY"}], "type": "BUTTONS"},
    ],
    "id": "920070352646140",
    "language": "en_US",
    "name": "2023_april_promo",
    "status": "REJECTED",
}


def test_a_listed_template_from_the_platform() -> None:
    spec = from_platform(SPEC_EXAMPLE)
    assert (spec.name, spec.language, spec.category) == (
        "2023_april_promo",
        "en_US",
        TemplateCategory.MARKETING,
    )
    assert (spec.body_params, spec.header_params, spec.approved) == (2, 0, False)
    assert spec.status == str(SPEC_EXAMPLE["status"]).upper() != "APPROVED"
    assert spec.buttons == ("Stop promotions",)


def test_synced_templates_overlay_the_configured_ones() -> None:
    catalogue = TemplateCatalogue([ORDER])
    paused = TemplateSpec("order_update", "de", TemplateCategory.UTILITY, approved=False)
    catalogue.replace_synced([paused])
    assert not catalogue.get("order_update", "de").approved
    catalogue.replace_synced([])
    assert catalogue.get("order_update", "de") is ORDER


def test_templates_read_before_a_sync_do_not_overwrite_it() -> None:
    catalogue = TemplateCatalogue([ORDER])
    read_at = catalogue.version
    fresh = TemplateSpec("hello_world", "en_US", TemplateCategory.UTILITY)
    assert catalogue.replace_synced([fresh])  # a sync lands while the stored ones are read
    assert not catalogue.replace_synced([], unless_since=read_at)
    assert catalogue.get("hello_world", "en_US") is fresh
    assert catalogue.replace_synced([], unless_since=catalogue.version)
    with pytest.raises(TemplateProblem):
        catalogue.get("hello_world", "en_US")


def test_a_listed_template_without_a_name_is_refused() -> None:
    with pytest.raises(TemplateProblem):
        from_platform({"language": "de", "category": "UTILITY"})
