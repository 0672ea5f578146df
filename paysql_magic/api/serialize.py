"""A result's DataFrame as JSON values: numbers stay numbers, dates and timestamps become ISO strings.

integers -> int; numeric and floats -> number (``Decimal`` too), NaN and infinities -> null; date columns (read
as midnight timestamps) -> ``"2026-11-29"``; timestamps -> ``"2026-11-29T10:15:00"``, with their offset when
they have a time zone (``"...+05:00"``); text -> string; boolean -> true/false; NULL / NA / NaT -> null; anything
else made JSON-safe (intervals in seconds, UUIDs as strings, JSON and arrays as they are).
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from starlette.responses import JSONResponse


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as JSON-ready dicts keyed by column name."""
    names = [str(name) for name in frame.columns]
    columns = [column_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)] if names else []


def column_values(series: pd.Series) -> list[Any]:
    """One column's values as JSON-ready Python values."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return _datetimes(series)
    return [_value(v) for v in series.tolist()]


def _datetimes(series: pd.Series) -> list[str | None]:
    """ISO strings, vectorised (``Timestamp.isoformat`` per value is 10x slower): dates when every value is a
    midnight without a time zone, else seconds (microseconds when any value has them), plus the offset."""
    zone = series.dt.tz
    local = series.dt.tz_localize(None) if zone is not None else series
    values = local.to_numpy()
    present = ~np.isnat(values)
    whole_days = values.astype("datetime64[D]") == values
    whole_seconds = values.astype("datetime64[s]") == values
    unit = "D" if zone is None and whole_days[present].all() else "s" if whole_seconds[present].all() else "us"
    texts = np.datetime_as_string(values, unit=unit).tolist()
    if zone is None:
        return [text if ok else None for text, ok in zip(texts, present.tolist(), strict=True)]
    utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
    offsets = ((local - utc).dt.total_seconds().fillna(0) // 60).astype(int).tolist()
    return [
        text + _offset(minutes) if ok else None
        for text, minutes, ok in zip(texts, offsets, present.tolist(), strict=True)
    ]


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if hasattr(value, "item"):  # a numpy scalar
        return _value(value.item())
    return str(value)


class JsonResponse(JSONResponse):
    """JSON as Starlette writes it (UTF-8, no ASCII escapes), except for text holding a lone surrogate (a question
    sent as ``"\\ud800"``), which has no UTF-8 form: that body is written with ASCII escapes, still valid JSON."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
