"""FAQ answers: rules that match a customer's question to a stored answer.

A rule matches when every one of its ``all`` words and at least one of its ``any`` words
(if given) occur in the normalised message; the first matching rule wins. Whether an answer
may go out (inside the window, enabled) is the caller's and the gate's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatproof.domain.errors import DomainError
from chatproof.domain.opt_out import normalise


class FaqError(DomainError):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True, slots=True)
class FaqRule:
    name: str
    answer: str
    all_words: tuple[str, ...] = ()
    any_words: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> FaqRule:
        """Raises: FaqError naming ``where`` and the key."""
        name, answer = data.get("name"), data.get("answer")
        if not isinstance(name, str) or not name:
            raise FaqError(f"{where}.name", "is required")
        if not isinstance(answer, str) or not answer.strip():
            raise FaqError(f"{where}.answer", "is required")
        words = {}
        for key in ("all", "any"):
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
                raise FaqError(f"{where}.{key}", "must be a list of words")
            words[key] = tuple(normalise(w) for w in value if normalise(w))
        if not words["all"] and not words["any"]:
            raise FaqError(f"{where}.any", "a rule needs at least one word to match")
        return cls(name, answer, words["all"], words["any"])

    def matches(self, text: str) -> bool:
        padded = f" {normalise(text)} "
        if not all(f" {w} " in padded for w in self.all_words):
            return False
        return not self.any_words or any(f" {w} " in padded for w in self.any_words)


def answer_for(rules: Sequence[FaqRule], text: str) -> FaqRule | None:
    return next((rule for rule in rules if rule.matches(text)), None)
