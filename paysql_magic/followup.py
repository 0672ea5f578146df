"""Follow-up questions: "а теперь только по Алматы", "same for last month", "now by week" refine the last answer.

``Previous`` is what a follow-up builds on: the questions so far (the original first), the SQL that answered
them and the call that ran it (the follow-up's audit row links to it). ``is_refinement`` recognises a question
that starts as a change to the previous one; ``change`` is that question without its opening words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENERS = (
    # Russian: «а теперь …», «то же самое, но …», «только …», «без …», «а за вчера?», «и по неделям»
    r"а\s+теперь", r"а\s+сейчас", r"теперь", r"то\s+же\s+самое(?:\s*,?\s*но)?", r"то\s+же(?:\s*,?\s*но)?",
    r"тоже", r"так\s+же", r"а\s+если", r"а\s+также", r"также", r"вместо\s+этого", r"но", r"а", r"и",
    # English: "now …", "same for …", "and only …", "what about …", "instead …"
    r"and\s+now", r"now", r"the\s+same(?:\s+but)?(?:\s+for)?", r"same(?:\s+but)?(?:\s+for)?", r"what\s+about",
    r"how\s+about", r"and\s+also", r"also", r"instead", r"but", r"and", r"then",
)  # fmt: skip
_OPENER = re.compile(rf"^\s*(?:(?:{'|'.join(_OPENERS)})\b[\s,:;-]*)+", re.IGNORECASE)
_CHANGES = re.compile(
    r"^\s*(?:только|лишь|без|кроме|исключая|only|just|excluding|except|without|by|per)\b", re.IGNORECASE
)
_FRAGMENT = re.compile(
    r"^\s*(?:(?:топ|top)\s+\d+|(?:по|by|per)\s+\w+)\s*[?.!]*\s*$", re.IGNORECASE
)  # «топ 3», «по неделям»
_INSTEAD = re.compile(r"\b(?:instead|вместо\s+этого)\s*[?.!]*\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Previous:
    """The answer a follow-up refines."""

    questions: tuple[str, ...]  # the original question, then each refinement, in order
    sql: str
    call_id: str

    def then(self, question: str, sql: str, call_id: str) -> Previous:
        """The thread after ``question`` refined this answer."""
        return Previous((*self.questions, question), sql, call_id)


def thread(previous: Previous | None, question: str) -> tuple[str, ...]:
    """Every question of the conversation so far, ``question`` last."""
    return (*(previous.questions if previous else ()), question)


def is_refinement(question: str) -> bool:
    """Whether ``question`` reads as a change to the previous one rather than a question of its own."""
    return bool(
        _OPENER.match(question) or _CHANGES.match(question) or _FRAGMENT.match(question) or _INSTEAD.search(question)
    )


def change(question: str) -> str:
    """The refinement without its opening words: «а теперь только по Алматы» -> «только по Алматы»."""
    stripped = _INSTEAD.sub("", _OPENER.sub("", question, count=1))
    return stripped.strip() or question.strip()
