"""The provider interface: a prompt goes in, a reply (SQL, possibly wrapped in prose) comes out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from paysql_magic.followup import Previous
from paysql_magic.schema import Schema
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.variables import Value


@dataclass(frozen=True)
class Prompt:
    """What a provider receives: the analyst's question, the schema, the semantic model, and the full text for an
    LLM; for a follow-up, the answer it refines; for ``{name}`` in the question, the notebook variables' values."""

    question: str
    schema: Schema
    text: str
    previous: Previous | None = None
    params: Mapping[str, Value] = field(default_factory=dict)
    model: SemanticModel | None = None
    examples: tuple[tuple[str, str], ...] = ()  # verified (question, SQL) pairs in the prompt


class Provider(Protocol):
    """Turns a prompt into a reply. Raises ``ProviderError`` (or ``Declined``) on failure."""

    name: str
    model: str
    remote: bool  # it calls a network service: the notebook shows a progress line while it works

    def generate(self, prompt: Prompt) -> str: ...
