"""The provider interface: a prompt goes in, a reply (SQL, possibly wrapped in prose) comes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from paysql_magic.schema import Schema


@dataclass(frozen=True)
class Prompt:
    """What a provider receives: the analyst's question, the schema, and the full text for an LLM."""

    question: str
    schema: Schema
    text: str


class Provider(Protocol):
    """Turns a prompt into a reply. Raises ``ProviderError`` (or ``Declined``) on failure."""

    name: str
    model: str
    remote: bool  # it calls a network service: the notebook shows a progress line while it works

    def generate(self, prompt: Prompt) -> str: ...
