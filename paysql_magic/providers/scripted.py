"""A provider that answers with SQL given in advance: for tests and for replaying a known query."""

from __future__ import annotations

from paysql_magic.providers.base import Prompt


class ScriptedProvider:
    """Replies with ``reply`` to every prompt, and remembers the prompts it was given."""

    name = "scripted"

    def __init__(self, reply: str, model: str = "scripted") -> None:
        self.reply = reply
        self.model = model
        self.prompts: list[Prompt] = []

    def generate(self, prompt: Prompt) -> str:
        self.prompts.append(prompt)
        return self.reply
