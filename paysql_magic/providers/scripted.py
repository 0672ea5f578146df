"""A provider that answers with SQL given in advance: for tests and for replaying a known query."""

from __future__ import annotations

from paysql_magic.providers.base import Prompt


class ScriptedProvider:
    """Replies with ``reply`` to every prompt (or, given a list, with its items in turn, the last one repeating),
    and remembers the prompts it was given."""

    name = "scripted"
    remote = False

    def __init__(self, reply: str | list[str], model: str = "scripted") -> None:
        self.replies = [reply] if isinstance(reply, str) else list(reply)
        self.model = model
        self.prompts: list[Prompt] = []

    def generate(self, prompt: Prompt) -> str:
        self.prompts.append(prompt)
        return self.replies[min(len(self.prompts), len(self.replies)) - 1]
