"""Run a question set through ``core.ask`` and judge every answer against its gold SQL on the same database."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from time import perf_counter

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic import core
from paysql_magic.connection import first_line
from paysql_magic.errors import ConfigError, PaysqlError
from paysql_magic.evaluation.compare import Rows, fetch, results_match
from paysql_magic.providers import Provider
from paysql_magic.settings import Settings

VERDICTS = ("correct", "wrong", "declined", "error")


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    question: str
    gold_sql: str
    ordered: bool


@dataclass(frozen=True)
class Outcome:
    """One judged question: the verdict, the SQL (or the decline/error message) and the timings."""

    question: Question
    verdict: str
    sql: str | None = None
    message: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        """``<id>\\t<verdict>\\t<generated SQL on one line, or the decline/error message>``."""
        detail = self.sql if self.verdict in ("correct", "wrong") else self.message
        return f"{self.question.id}\t{self.verdict}\t{' '.join((detail or '').split())}"


def load_questions(path: Path) -> list[Question]:
    """The questions of a JSONL file (``id``, ``lang``, ``question``, ``gold_sql``, ``ordered``)."""
    fields = Question.__dataclass_fields__
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the questions in {path}: {exc.strerror}") from None
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(Question(**{k: v for k, v in item.items() if k in fields}))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{number}: not a question (id, lang, question, gold_sql): {exc}") from None
    return questions


def rows_of(frame: pd.DataFrame) -> Rows:
    """A DataFrame as plain Python values (NULLs as None), ready for the comparison."""

    def plain(value: object) -> object:
        if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
            return None
        return value.item() if hasattr(value, "item") and not isinstance(value, pd.Timestamp) else value

    rows = tuple(tuple(plain(v) for v in row) for row in frame.itertuples(index=False, name=None))
    return Rows(tuple(map(str, frame.columns)), rows)


def judge(
    question: Question, engine: Engine, settings: Settings, provider: Provider, mode: str | None = None
) -> Outcome:
    """Ask ``question`` (no row cap, audited as ``eval``; ``mode``: plan, sql or auto for LLMs) and compare the
    answer with the gold SQL's."""
    try:
        generation = core.Generation(mode=mode)
        result = core.ask(question.question, engine, settings, provider=provider, source="eval", generation=generation)
    except PaysqlError as exc:
        verdict = "declined" if exc.status == "declined" else "error"
        return Outcome(question, verdict, message=str(exc))
    start = perf_counter()
    try:
        gold = fetch(engine, question.gold_sql)
    except SQLAlchemyError as exc:
        return Outcome(question, "error", result.sql, f"gold SQL failed: {first_line(exc)}", result.timings_ms)
    timings = {**result.timings_ms, "gold": (perf_counter() - start) * 1000}
    correct = results_match(gold, rows_of(result.frame), question.ordered, question.gold_sql)
    return Outcome(question, "correct" if correct else "wrong", result.sql, timings_ms=timings)


def evaluate(
    questions: Iterable[Question], engine: Engine, settings: Settings, provider: Provider, mode: str | None = None
) -> Iterator[Outcome]:
    """Judge every question, one at a time (generated SQL runs uncapped: a cap would change the answer)."""
    uncapped = replace(settings, max_rows=None)
    for question in questions:
        yield judge(question, engine, uncapped, provider, mode)


def summary_line(label: str, outcomes: list[Outcome]) -> str:
    """``<label>: C/N (P%) wrong: W declined: D error: E``."""
    counts = Counter(o.verdict for o in outcomes)
    n = len(outcomes)
    share = 100 * counts["correct"] / n if n else 0.0
    return (
        f"{label}: {counts['correct']}/{n} ({share:.1f}%) wrong: {counts['wrong']} "
        f"declined: {counts['declined']} error: {counts['error']}"
    )


def report(outcomes: list[Outcome]) -> list[str]:
    """One line per question, one per language, and the overall execution accuracy last."""
    lines = [o.line() for o in outcomes]
    for lang in sorted({o.question.lang for o in outcomes}, key=lambda lang: (lang != "ru", lang)):
        lines.append(summary_line(lang, [o for o in outcomes if o.question.lang == lang]))
    lines.append(summary_line("execution accuracy", outcomes))
    return lines


def to_json(outcomes: list[Outcome]) -> list[dict]:
    """Every question with its generated SQL, verdict, message and timings."""
    return [{**asdict(o.question), **{k: v for k, v in asdict(o).items() if k != "question"}} for o in outcomes]
