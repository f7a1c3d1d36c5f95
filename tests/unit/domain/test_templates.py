"""The template catalogue and the parameter check before a template reaches the platform."""

from __future__ import annotations

import pytest

from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import (
    TemplateCatalogue,
    TemplateProblem,
    TemplateSpec,
    check_parameters,
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
