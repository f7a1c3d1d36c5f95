"""The message templates the emulated business owns, and the checks a template send passes.

Outside the 24-hour window only approved templates may be sent, and a template's category
decides pricing and whether an opted-out customer may receive it (131050). The registry is
the emulator's stand-in for WhatsApp Manager: tests add templates through the control API,
and a business submits new ones (``POST /{waba-id}/message_templates``), which are PENDING
until an emulated review (after ``review_seconds``, or on the control API's word) approves or
rejects them and a ``message_template_status_update`` webhook says so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chatproof.emulator import graph_errors
from chatproof.emulator.envelopes import encode_payload
from chatproof.emulator.errors import ControlError

if TYPE_CHECKING:
    from chatproof.emulator.engine import Emulator

__all__ = [
    "DEFAULT_TEMPLATES",
    "Template",
    "TemplateCategory",
    "TemplateRegistry",
    "TemplateStatus",
    "check_template_send",
    "decide",
    "parse_submission",
    "review_later",
    "status_update_envelope",
]

DEFAULT_REVIEW_SECONDS = 2.0
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
MAX_BODY = 1024

HEADER_FORMATS = frozenset({"text", "image", "video", "document", "location"})
BUTTON_TYPES = frozenset(
    {"quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call", "otp"}
)
_MEDIA_PARAMETER_TYPES = frozenset({"image", "video", "document", "location"})
_PARAMETER_TYPES = frozenset(
    {"text", "currency", "date_time", "image", "video", "document", "location", "payload"}
    | {"action", "coupon_code", "product", "expiration_time_ms", "tap_target_configuration"}
)


class TemplateCategory(StrEnum):
    MARKETING = "marketing"
    UTILITY = "utility"
    AUTHENTICATION = "authentication"


class TemplateStatus(StrEnum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"


@dataclass(frozen=True)
class Template:
    """What the emulator knows about one template in one language."""

    name: str
    language: str
    category: TemplateCategory
    status: TemplateStatus = TemplateStatus.APPROVED
    body_params: int = 0
    header: str | None = None
    header_params: int = 0
    buttons: tuple[str, ...] = field(default_factory=tuple)
    text: str | None = None
    """The body as submitted; templates added through the control API have a made-up one."""

    def to_graph(self, template_id: str) -> dict[str, Any]:
        """The template as ``GET /{waba-id}/message_templates`` lists it (SPEC shape:
        ``name, language, status, category, id, components[{type, text, format, buttons}]``)."""
        components: list[dict[str, Any]] = []
        if self.header is not None:
            header: dict[str, Any] = {"type": "HEADER", "format": self.header.upper()}
            if self.header == "text":
                header["text"] = " ".join(f"{{{{{i}}}}}" for i in range(1, self.header_params + 1))
            components.append(header)
        placeholders = " ".join(f"{{{{{i}}}}}" for i in range(1, self.body_params + 1))
        body = self.text if self.text is not None else f"{self.name} {placeholders}".strip()
        components.append({"type": "BODY", "text": body})
        if self.buttons:
            buttons = [{"type": b.upper(), "text": b.replace("_", " ")} for b in self.buttons]
            components.append({"type": "BUTTONS", "buttons": buttons})
        return {
            "name": self.name,
            "language": self.language,
            "status": self.status.value,
            "category": self.category.value.upper(),
            "id": template_id,
            "components": components,
        }

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["category"] = self.category.value
        data["status"] = self.status.value
        data["buttons"] = list(self.buttons)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Template:
        """Build a template from a control request.

        Raises:
            ControlError: naming the field that is missing or invalid.
        """
        name = data.get("name")
        language = data.get("language")
        if not isinstance(name, str) or not name:
            raise ControlError("name is required", field="name")
        if not isinstance(language, str) or not language:
            raise ControlError("language is required", field="language")
        try:
            category = TemplateCategory(str(data.get("category", "")).lower())
        except ValueError:
            raise ControlError(
                "category must be marketing, utility or authentication", field="category"
            ) from None
        try:
            status = TemplateStatus(str(data.get("status", "APPROVED")).upper())
        except ValueError:
            raise ControlError(
                "status must be APPROVED, PENDING, REJECTED or PAUSED", field="status"
            ) from None
        header = data.get("header")
        if header is not None and (not isinstance(header, str) or header not in HEADER_FORMATS):
            raise ControlError(f"header must be one of {sorted(HEADER_FORMATS)}", field="header")
        buttons = data.get("buttons", [])
        if not isinstance(buttons, list) or any(b not in BUTTON_TYPES for b in buttons):
            raise ControlError(f"buttons must be a list of {sorted(BUTTON_TYPES)}", field="buttons")
        counts = {}
        for key in ("body_params", "header_params"):
            value = data.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ControlError(f"{key} must be a non-negative integer", field=key)
            counts[key] = value
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise ControlError("text must be a string", field="text")
        return cls(
            name=name,
            language=language,
            category=category,
            status=status,
            header=header,
            buttons=tuple(buttons),
            text=text,
            **counts,
        )


DEFAULT_TEMPLATES: tuple[Template, ...] = (
    Template("hello_world", "en_US", TemplateCategory.UTILITY),
    Template("order_update", "de", TemplateCategory.UTILITY, body_params=2),
    Template("order_update", "en", TemplateCategory.UTILITY, body_params=2),
    Template(
        "newsletter", "de", TemplateCategory.MARKETING, body_params=1, buttons=("quick_reply",)
    ),
    Template("login_code", "de", TemplateCategory.AUTHENTICATION, body_params=1, buttons=("url",)),
    Template("login_code", "en", TemplateCategory.AUTHENTICATION, body_params=1, buttons=("url",)),
)


class TemplateRegistry:
    """Templates by ``(name, language)``; adding one with the same key replaces it (and
    keeps its id). ``review_seconds`` is how long the emulated review of a submitted
    template takes; None leaves it PENDING until the control API decides."""

    def __init__(self, templates: Iterable[Template] = DEFAULT_TEMPLATES) -> None:
        self._templates: dict[tuple[str, str], Template] = {}
        self._ids: dict[tuple[str, str], str] = {}
        self.review_seconds: float | None = DEFAULT_REVIEW_SECONDS
        self.reviews: set[asyncio.Task[None]] = set()
        for template in templates:
            self.add(template)

    def add(self, template: Template) -> Template:
        key = (template.name, template.language)
        self._templates[key] = template
        self._ids.setdefault(key, str(10**14 + len(self._ids)))
        return template

    def id_of(self, template: Template) -> str:
        return self._ids[(template.name, template.language)]

    def get(self, name: str, language: str) -> Template | None:
        return self._templates.get((name, language))

    def all(self) -> list[Template]:
        return sorted(self._templates.values(), key=lambda t: (t.name, t.language))


def check_template_send(registry: TemplateRegistry, template: object) -> Template:
    """Check a send request's ``template`` object against the registry.

    Raises:
        GraphError: 100 for a malformed object, 132001 for a template that does not exist
            in that language or is not approved, 132000/132012 for parameters that do not
            fit the template.
    """
    if not isinstance(template, dict):
        raise graph_errors.invalid_parameter("The parameter template is required.")
    name = template.get("name")
    if not isinstance(name, str) or not name:
        raise graph_errors.invalid_parameter("The parameter template['name'] is required.")
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        raise graph_errors.invalid_parameter(
            "The parameter template['language']['code'] is required."
        )
    components = template.get("components", [])
    if not isinstance(components, list):
        raise graph_errors.invalid_parameter("Param template['components'] must be an array.")
    for index, component in enumerate(components):
        _check_component_shape(component, index)
    found = registry.get(name, code)
    if found is None or found.status is not TemplateStatus.APPROVED:
        raise graph_errors.template_not_found(name, code)
    _check_against(found, components)
    return found


def _check_component_shape(component: object, index: int) -> None:
    where = f"template['components'][{index}]"
    if not isinstance(component, dict):
        raise graph_errors.invalid_parameter(f"Param {where} must be an object.")
    kind = component.get("type")
    if kind not in ("header", "body", "button", "footer", "carousel", "limited_time_offer"):
        raise graph_errors.invalid_parameter(f"Param {where}['type'] is invalid.")
    if kind == "button":
        sub_type = component.get("sub_type")
        if not isinstance(sub_type, str) or sub_type.lower() not in BUTTON_TYPES:
            raise graph_errors.invalid_parameter(f"Param {where}['sub_type'] is invalid.")
        index_value = component.get("index")
        if isinstance(index_value, str) and index_value.isdigit():
            index_value = int(index_value)
        if not isinstance(index_value, int) or isinstance(index_value, bool) or index_value < 0:
            raise graph_errors.invalid_parameter(f"Param {where}['index'] is required.")
    parameters = component.get("parameters", [])
    if not isinstance(parameters, list):
        raise graph_errors.invalid_parameter(f"Param {where}['parameters'] must be an array.")
    for position, parameter in enumerate(parameters):
        _check_parameter(parameter, f"{where}['parameters'][{position}]")


def _check_parameter(parameter: object, where: str) -> None:
    if not isinstance(parameter, dict):
        raise graph_errors.invalid_parameter(f"Param {where} must be an object.")
    kind = parameter.get("type")
    if kind not in _PARAMETER_TYPES:
        raise graph_errors.invalid_parameter(f"Param {where}['type'] is invalid.")
    value = parameter.get(kind)
    if kind in ("text", "payload", "coupon_code"):
        if not isinstance(value, str):
            raise graph_errors.invalid_parameter(f"Param {where}['{kind}'] must be a string.")
    elif kind in ("currency", "date_time"):
        if not isinstance(value, dict) or not isinstance(value.get("fallback_value"), str):
            raise graph_errors.invalid_parameter(
                f"The parameter {where}['{kind}']['fallback_value'] is required."
            )
    elif kind in ("image", "video", "document") and (
        not isinstance(value, dict) or not ({"id", "link"} & value.keys())
    ):
        raise graph_errors.invalid_parameter(f"Param {where}['{kind}'] needs an id or a link.")


def _check_against(template: Template, components: list[dict[str, Any]]) -> None:
    def parameters_of(kind: str) -> list[dict[str, Any]] | None:
        for component in components:
            if component["type"] == kind:
                return list(component.get("parameters", []))
        return None

    body = parameters_of("body") or []
    if len(body) != template.body_params:
        raise graph_errors.template_param_mismatch("body", len(body), template.body_params)
    header = parameters_of("header")
    if template.header is None and header:
        raise graph_errors.template_param_mismatch("header", len(header), 0)
    if template.header == "text" and len(header or []) != template.header_params:
        raise graph_errors.template_param_mismatch(
            "header", len(header or []), template.header_params
        )
    if template.header in _MEDIA_PARAMETER_TYPES:
        if not header or len(header) != 1:
            raise graph_errors.template_param_mismatch("header", len(header or []), 1)
        if header[0].get("type") != template.header:
            raise graph_errors.template_format_mismatch(
                f"header: expected a {template.header} parameter, got {header[0].get('type')}"
            )
    for component in components:
        if component["type"] != "button":
            continue
        index = int(component["index"])
        sub_type = str(component["sub_type"]).lower()
        if index >= len(template.buttons) or template.buttons[index] != sub_type:
            raise graph_errors.template_format_mismatch(
                f"button at index {index}: the template has no {sub_type} button there"
            )


def parse_submission(body: object) -> Template:
    """A template a business submits (``POST /{waba-id}/message_templates``), checked as the
    platform checks it: name, language, category, a BODY component whose ``{{n}}``
    placeholders are numbered 1…n and come with as many examples. It starts PENDING.

    Raises:
        GraphError: 100 naming the parameter that is missing or wrong.
    """
    if not isinstance(body, dict):
        raise graph_errors.invalid_parameter("The request body must be a JSON object.")
    name = body.get("name")
    if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
        raise graph_errors.invalid_parameter(
            "Param name must be 1-512 lowercase letters, digits or underscores."
        )
    language = body.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise graph_errors.invalid_parameter("Param language must be a language code (en_US).")
    try:
        category = TemplateCategory(str(body.get("category", "")).lower())
    except ValueError:
        raise graph_errors.invalid_parameter(
            "Param category must be one of {MARKETING, UTILITY, AUTHENTICATION}."
        ) from None
    components = body.get("components")
    if not isinstance(components, list):
        raise graph_errors.invalid_parameter("The parameter components is required.")
    bodies = [c for c in components if isinstance(c, dict) and str(c.get("type")).upper() == "BODY"]
    if len(bodies) != 1 or not isinstance(bodies[0].get("text"), str) or not bodies[0]["text"]:
        raise graph_errors.invalid_parameter("Param components must hold one BODY with text.")
    text = bodies[0]["text"]
    if len(text) > MAX_BODY:
        raise graph_errors.invalid_parameter(f"Param components[BODY].text exceeds {MAX_BODY}.")
    numbers = sorted({int(n) for n in _PLACEHOLDER.findall(text)})
    if numbers != list(range(1, len(numbers) + 1)):
        raise graph_errors.invalid_parameter(
            "Param components[BODY].text must number its variables {{1}}, {{2}}, … in order."
        )
    if numbers:
        example = bodies[0].get("example")
        rows = example.get("body_text") if isinstance(example, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], list) else None
        if row is None or len(row) != len(numbers) or not all(isinstance(v, str) for v in row):
            raise graph_errors.invalid_parameter(
                f"Param components[BODY].example.body_text must give {len(numbers)} examples."
            )
    return Template(
        name, language, category, TemplateStatus.PENDING, body_params=len(numbers), text=text
    )


def status_update_envelope(
    waba_id: str, template_id: str, template: Template, reason: str, at: int
) -> dict[str, Any]:
    """The ``message_template_status_update`` webhook (Meta's sample shape)."""
    value: dict[str, Any] = {
        "event": template.status.value,
        "message_template_id": int(template_id),
        "message_template_name": template.name,
        "message_template_language": template.language,
        "reason": reason,
        "message_template_category": template.category.value.upper(),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "time": at,
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
    }


def status_update_body(
    waba_id: str, template_id: str, template: Template, reason: str, at: int
) -> bytes:
    return encode_payload(status_update_envelope(waba_id, template_id, template, reason, at))


def decide(
    emulator: Emulator, name: str, language: str, status: TemplateStatus, reason: str = "NONE"
) -> Template:
    """The review's outcome: the template takes ``status`` and the business is told by a
    ``message_template_status_update`` webhook.

    Raises:
        ControlError: 404 when there is no such template.
    """
    registry = emulator.templates
    found = registry.get(name, language)
    if found is None:
        raise ControlError(f"no template {name!r} in {language!r}", field="name", status=404)
    decided = registry.add(replace(found, status=status))
    body = status_update_body(
        emulator.settings.waba_id,
        registry.id_of(decided),
        decided,
        reason,
        int(emulator.clock.now()),
    )
    emulator.webhooks.enqueue(
        body, kind=f"message_template_status_update.{status.value.lower()}", ref=name
    )
    return decided


def review_later(emulator: Emulator, template: Template, seconds: float) -> None:
    """Approve ``template`` after ``seconds`` unless the control API decided first."""

    async def review() -> None:
        await asyncio.sleep(seconds)
        current = emulator.templates.get(template.name, template.language)
        if current is not None and current.status is TemplateStatus.PENDING:
            decide(emulator, template.name, template.language, TemplateStatus.APPROVED)

    task = asyncio.get_running_loop().create_task(review())
    emulator.templates.reviews.add(task)
    task.add_done_callback(emulator.templates.reviews.discard)
