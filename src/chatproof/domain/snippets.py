"""Quick replies: named snippets with placeholders (``{name}``, ``{agent}``) that agents
insert; an unknown or missing placeholder is an error, never sent half-filled."""

from __future__ import annotations

import string
from collections.abc import Mapping

from chatproof.domain.errors import DomainError


class SnippetError(DomainError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")


def placeholders(text: str) -> set[str]:
    """Raises: SnippetError for a malformed placeholder."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError as exc:
        raise SnippetError("text", str(exc)) from None


def render(snippets: Mapping[str, str], name: str, values: Mapping[str, str]) -> str:
    """Raises: SnippetError naming the snippet or the placeholder without a value."""
    if name not in snippets:
        raise SnippetError("snippet", f"no quick reply named {name!r}")
    text = snippets[name]
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise SnippetError(missing[0], f"quick reply {name!r} needs a value for {{{missing[0]}}}")
    return text.format_map(dict(values))
