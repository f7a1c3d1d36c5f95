"""The business's approved templates, and the check a template send passes before it
reaches the platform: the right template, approved, with exactly the parameters it takes.

A wrong parameter count would come back as 132000 after the gate had already archived a
decision; checking here turns it into a clear error naming the field (invariant 6).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chatproof.domain.errors import DomainError
from chatproof.domain.policy import TemplateCategory

MAX_PARAMETER = 1024


class TemplateProblem(DomainError):
    """A template or its parameters are wrong; ``field`` names what."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    name: str
    language: str
    category: TemplateCategory
    approved: bool = True
    body_params: int = 0
    header_params: int = 0
    text: str = ""
    """The body as approved, with ``{{1}}`` … placeholders (for the archive and previews)."""
    buttons: tuple[str, ...] = field(default_factory=tuple)
    status: str = ""
    """The platform's review status (``APPROVED``, ``PENDING``, ``REJECTED``, ``PAUSED`` …) as
    last synced, for people to read; ``approved`` is what the gate goes by."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> TemplateSpec:
        """Build from one configured ``[[templates.template]]`` table.

        Raises:
            TemplateProblem: naming ``where`` and the key.
        """
        name, language = data.get("name"), data.get("language")
        if not isinstance(name, str) or not name:
            raise TemplateProblem(f"{where}.name", "is required")
        if not isinstance(language, str) or not language:
            raise TemplateProblem(f"{where}.language", "is required")
        try:
            category = TemplateCategory(str(data.get("category", "")).lower())
        except ValueError:
            raise TemplateProblem(
                f"{where}.category", "must be marketing, utility or authentication"
            ) from None
        counts = {}
        for key in ("body_params", "header_params"):
            value = data.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TemplateProblem(f"{where}.{key}", "must be a non-negative integer")
            counts[key] = value
        status = str(data.get("status", "approved")).lower()
        buttons = data.get("buttons", ())
        if not isinstance(buttons, list | tuple) or not all(isinstance(b, str) for b in buttons):
            raise TemplateProblem(f"{where}.buttons", "must be a list of button texts")
        return cls(
            name=name,
            language=language,
            category=category,
            approved=status == "approved",
            text=str(data.get("text", "")),
            buttons=tuple(buttons),
            status=status.upper(),
            **counts,
        )


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def from_platform(data: Mapping[str, Any]) -> TemplateSpec:
    """A template as the platform lists it (``GET /{waba-id}/message_templates``): its
    parameters are counted from the ``{{n}}`` placeholders of header and body.

    Raises:
        TemplateProblem: naming the field that is missing or unknown.
    """
    name, language = data.get("name"), data.get("language")
    if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
        raise TemplateProblem("name", "a listed template needs a name and a language")
    try:
        category = TemplateCategory(str(data.get("category", "")).lower())
    except ValueError:
        raise TemplateProblem("category", f"{data.get('category')!r} of {name!r}") from None
    body, header_params, buttons = "", 0, []
    components = data.get("components")
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).upper()
        text = component.get("text")
        if kind == "BODY" and isinstance(text, str):
            body = text
        elif kind == "HEADER" and isinstance(text, str):
            header_params = len(set(_PLACEHOLDER.findall(text)))
        elif kind == "BUTTONS" and isinstance(component.get("buttons"), list):
            buttons = [
                str(b.get("text", "")) for b in component["buttons"] if isinstance(b, Mapping)
            ]
    return TemplateSpec(
        name=name,
        language=language,
        category=category,
        approved=str(data.get("status", "")).upper() == "APPROVED",
        body_params=len(set(_PLACEHOLDER.findall(body))),
        header_params=header_params,
        text=body,
        buttons=tuple(buttons),
        status=str(data.get("status", "")).upper()[:32],
    )


class TemplateCatalogue:
    """Templates by (name, language): the configured ones, overlaid by those synced from
    the platform (its status is the truth)."""

    def __init__(self, templates: Iterable[TemplateSpec] = ()) -> None:
        self._configured = {(t.name, t.language): t for t in templates}
        self._by_key = dict(self._configured)
        self.version = 0
        """Counts replacements, so that a reader of the stored templates can tell whether a
        sync replaced them while it was reading (``replace_synced(..., unless_since=…)``)."""

    def replace_synced(
        self, synced: Iterable[TemplateSpec], *, unless_since: int | None = None
    ) -> bool:
        """Overlay the configured templates with the synced ones (replacing earlier ones);
        with ``unless_since``, only if nothing replaced them after that version was read.
        Returns whether it replaced them."""
        if unless_since is not None and unless_since != self.version:
            return False
        merged = dict(self._configured)
        merged.update({(t.name, t.language): t for t in synced})
        self._by_key = merged
        self.version += 1
        return True

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> list[TemplateSpec]:
        return sorted(self._by_key.values(), key=lambda t: (t.name, t.language))

    def get(self, name: str, language: str) -> TemplateSpec:
        """Raises: TemplateProblem naming ``template`` when there is no such template."""
        found = self._by_key.get((name, language))
        if found is None:
            languages = sorted(lang for n, lang in self._by_key if n == name)
            hint = f" (languages: {', '.join(languages)})" if languages else ""
            raise TemplateProblem("template", f"no template {name!r} in {language!r}{hint}")
        return found


def check_parameters(spec: TemplateSpec, body: Sequence[str], header: Sequence[str] = ()) -> None:
    """Raises: TemplateProblem naming ``body_params``/``header_params`` (and the index)."""
    for key, given, wanted in (
        ("body_params", body, spec.body_params),
        ("header_params", header, spec.header_params),
    ):
        if len(given) != wanted:
            raise TemplateProblem(
                key, f"template {spec.name!r} takes {wanted} parameter(s), got {len(given)}"
            )
        for index, value in enumerate(given):
            if not isinstance(value, str) or not value.strip():
                raise TemplateProblem(f"{key}[{index}]", "must be non-empty text")
            if len(value) > MAX_PARAMETER or ("\n" in value and key == "header_params"):
                raise TemplateProblem(f"{key}[{index}]", "is too long or has a line break")


def render_preview(spec: TemplateSpec, body: Sequence[str]) -> str:
    """The body text as the customer will see it (for the archive and the agent)."""
    text = spec.text or spec.name
    for index, value in enumerate(body, start=1):
        text = text.replace("{{" + str(index) + "}}", value)
    return text
