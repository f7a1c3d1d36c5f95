"""A new template is checked before it is submitted to the platform, each refusal naming its
field, and becomes the platform's request."""

from __future__ import annotations

import pytest

from chatproof.domain.policy import TemplateCategory
from chatproof.domain.templates import TemplateProblem
from chatproof.services import templates


def test_a_new_template_becomes_the_platforms_request() -> None:
    draft = templates.draft(
        " termin_info ", "de", "Utility", "Hallo {{ 1 }}, am {{2}}.", ["Anna", " 12.12. ", ""]
    )
    assert draft.category is TemplateCategory.UTILITY
    assert draft.payload() == {
        "name": "termin_info",
        "language": "de",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Hallo {{1}}, am {{2}}.",
                "example": {"body_text": [["Anna", "12.12."]]},
            }
        ],
    }
    plain = templates.draft("danke", "en_US", "marketing", "Thank you!", [])
    assert "example" not in plain.payload()["components"][0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Termin"}, "name"),
        ({"language": "german"}, "language"),
        ({"category": "service"}, "category"),
        ({"text": ""}, "text"),
        ({"text": "x" * 1025}, "text"),
        ({"text": "Hallo {{1}} {{3}}"}, "text"),
        ({"examples": ["Anna"]}, "examples"),
    ],
)
def test_a_bad_template_is_refused_naming_the_field(change: dict, field: str) -> None:
    values = {
        "name": "termin_info",
        "language": "de",
        "category": "utility",
        "text": "Hallo {{1}}, am {{2}}.",
        "examples": ["Anna", "12.12."],
        **change,
    }
    with pytest.raises(TemplateProblem) as raised:
        templates.draft(**values)
    assert raised.value.field == field
