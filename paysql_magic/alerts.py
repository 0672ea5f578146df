"""Alerts: ``paysql check`` compares a figure with another one (or with bounds) for cron or CI.

A check asks its questions through ``core.ask`` (the magic's path: guard, read-only execution, query cache,
audit with ``source="check"``). Each question must give one number: the first numeric cell of the first row.
The change is ``(current - previous) / previous`` in percent (infinite when ``previous`` is 0 and ``current`` is
not); a check fails when it is beyond ``max_change`` or when ``current`` is outside ``min``/``max``.

Exit codes (``exit_code``): 0 all passed, 1 a check failed, 2 a check could not be evaluated (the question was
declined or gave no number, the database is down; this wins over 1, since the figures are incomplete).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import Engine

from paysql_magic import core
from paysql_magic.errors import ConfigError, PaysqlError
from paysql_magic.settings import Settings

WEBHOOK_TIMEOUT_S = 5.0
CHECK_FIELDS = ("name", "question", "compare_to", "max_change", "min", "max")
OK, FAILED, ERROR = 0, 1, 2


class NotANumber(PaysqlError):
    """Raised when a check's question does not give one number."""


class WebhookError(PaysqlError):
    """Raised when the alert could not be delivered to the webhook."""


@dataclass(frozen=True)
class Check:
    """One check: ``question`` against ``compare_to`` (at most ``max_change`` percent apart) and/or bounds."""

    name: str
    question: str
    compare_to: str | None = None
    max_change: float | None = None  # percent, either way
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if (self.compare_to is None) != (self.max_change is None):
            raise ConfigError(f"check {self.name!r}: compare_to and max_change go together")
        if self.compare_to is None and self.min is None and self.max is None:
            raise ConfigError(f"check {self.name!r}: give compare_to with max_change, or min/max bounds")


@dataclass(frozen=True)
class Outcome:
    """What a check found; ``error`` is set when it could not be evaluated."""

    check: Check
    current: float | None = None
    previous: float | None = None
    change_pct: float | None = None  # math.inf / -math.inf when previous is 0
    failed: bool = False
    error: str | None = None

    @property
    def status(self) -> str:
        return "ERROR" if self.error else "FAIL" if self.failed else "OK"

    def line(self) -> str:
        """``FAIL transactions today vs yesterday: 1,234 vs 2,345 (-47.4%, limit ±20%)``."""
        head = f"{self.status} {self.check.name}: "
        if self.error:
            return head + self.error
        check, notes = self.check, []
        figures = _figure(self.current)
        if check.compare_to is not None:
            figures += f" vs {_figure(self.previous)}"
            notes.append(f"{_change(self.change_pct)}, limit ±{_figure(check.max_change)}%")
        if check.min is not None and self.current is not None and self.current < check.min:
            notes.append(f"below min {_figure(check.min)}")
        if check.max is not None and self.current is not None and self.current > check.max:
            notes.append(f"above max {_figure(check.max)}")
        return head + figures + (f" ({'; '.join(notes)})" if notes else "")

    def as_json(self) -> dict[str, object]:
        finite = self.change_pct is None or math.isfinite(self.change_pct)
        return {
            **asdict(self.check),
            "status": self.status.lower(),
            "failed": self.failed,
            "current": self.current,
            "previous": self.previous,
            "change_pct": self.change_pct if finite else None,
            "infinite_change": not finite,
            "error": self.error,
            "line": self.line(),
        }


def parse_percent(value: str | float | int, name: str = "max_change") -> float:
    """``"20%"``, ``"20"`` or ``20`` -> 20.0 (percent)."""
    text = str(value).strip().removesuffix("%").strip()
    try:
        percent = float(text)
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a percentage: write e.g. 20%") from None
    if percent < 0 or not math.isfinite(percent):
        raise ConfigError(f"{name} {value!r} must be a positive percentage")
    return percent


def load_checks(path: Path) -> list[Check]:
    """Checks from a YAML file: a list (or ``checks:`` holding a list) of mappings with ``CHECK_FIELDS``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and "checks" in data:
        data = data["checks"]
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a list of checks (name, question, compare_to, max_change, min, max)")
    return [_check(entry, f"{path} check {i}") for i, entry in enumerate(data, start=1)]


def _check(entry: object, where: str) -> Check:
    if not isinstance(entry, dict) or not entry.get("question"):
        raise ConfigError(f"{where}: a check needs at least a question")
    unknown = sorted(set(entry) - set(CHECK_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown field {', '.join(unknown)} (known: {', '.join(CHECK_FIELDS)})")
    bounds = {key: _bound(entry.get(key), key, where) for key in ("min", "max")}
    max_change = entry.get("max_change")
    return Check(
        name=str(entry.get("name") or entry["question"]),
        question=str(entry["question"]),
        compare_to=str(entry["compare_to"]) if entry.get("compare_to") else None,
        max_change=parse_percent(max_change) if max_change is not None else None,
        **bounds,
    )


def _bound(value: object, key: str, where: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} {value!r} is not a number") from None


def number(frame: pd.DataFrame | None, question: str) -> float:
    """The first numeric cell of the first row (an empty sum, NULL, counts as 0)."""
    if frame is None or frame.empty:
        raise NotANumber(f"{question!r} gave no rows: a check needs one number")
    for column in frame.columns:
        series, value = frame[column], frame[column].iloc[0]
        if pd.api.types.is_bool_dtype(series) or isinstance(value, bool):
            continue
        if pd.api.types.is_numeric_dtype(series) or isinstance(value, int | float | Decimal):
            return 0.0 if pd.isna(value) else float(value)
    columns = ", ".join(map(str, frame.columns))
    raise NotANumber(f"{question!r} gave no number (columns: {columns}): a check needs one number")


def run_check(check: Check, engine: Engine, settings: Settings) -> Outcome:
    """Ask the check's questions and compare; an expected failure (declined, no number, database down) is
    returned as an ``Outcome`` with ``error`` set, never raised."""
    try:
        current = _ask(check.question, engine, settings)
        previous = _ask(check.compare_to, engine, settings) if check.compare_to is not None else None
    except PaysqlError as exc:
        return Outcome(check, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    change = change_pct(current, previous) if previous is not None else None
    failed = (
        (change is not None and check.max_change is not None and abs(change) > check.max_change)
        or (check.min is not None and current < check.min)
        or (check.max is not None and current > check.max)
    )
    return Outcome(check, current, previous, change, failed)


def change_pct(current: float, previous: float) -> float:
    """``(current - previous) / previous`` in percent; from 0, infinite (0 to 0 is no change)."""
    if previous == 0:
        return 0.0 if current == 0 else math.copysign(math.inf, current)
    return (current - previous) / abs(previous) * 100


def exit_code(outcomes: list[Outcome]) -> int:
    if any(o.error for o in outcomes):
        return ERROR
    return FAILED if any(o.failed for o in outcomes) else OK


def alert(outcomes: list[Outcome]) -> dict[str, object]:
    """The webhook's JSON: every check with its figures; ``text`` holds the printed lines (chat webhooks show it)."""
    return {
        "source": "paysql check",
        "failed": any(o.failed for o in outcomes),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "checks": [o.as_json() for o in outcomes],
        "text": "\n".join(o.line() for o in outcomes),
    }


def post_webhook(url: str, payload: dict[str, object], timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
    """POST ``payload`` as JSON; a failure raises ``WebhookError`` naming the host only (webhook URLs often hold
    a token in their path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"the webhook must be an http(s) URL, not {parts.scheme or 'a path'}")
    where = parts.netloc.rpartition("@")[2]
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"webhook at {where} answered HTTP {exc.code}") from None
    except OSError as exc:  # URLError, a refused connection, a timeout
        reason = getattr(exc, "reason", None) or exc
        raise WebhookError(f"webhook at {where} not reached: {reason}") from None


def _ask(question: str, engine: Engine, settings: Settings) -> float:
    return number(core.ask(question, engine, settings, source="check").frame, question)


def _figure(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _change(change: float | None) -> str:
    if change is None:
        return "n/a"
    if math.isinf(change):
        return "previous is 0: infinite change"
    return f"{change:+.1f}%"
