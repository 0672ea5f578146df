"""Exports for BI tools: a result's DataFrame to .csv, .xlsx or .parquet, chosen by the file's extension.

Numbers stay numbers and dates stay dates in every format:

- ``.csv``: UTF-8, no index, dates in ISO 8601 (a timestamp with time zone keeps its offset, ``+05:00``);
- ``.xlsx`` (openpyxl): numbers and dates are typed cells. Excel cannot hold a time zone, so a timestamp with
  time zone becomes the naive wall-clock time of the zone it was read in, the database session's TimeZone
  (e.g. Asia/Almaty for the demo): ``2026-01-05 10:00:00+05:00`` is written as ``2026-01-05 10:00:00``;
- ``.parquet`` (pyarrow): typed columns, time zones kept.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from paysql_magic.errors import ConfigError


def _csv(frame: pd.DataFrame, path: Path | BinaryIO) -> None:
    frame.to_csv(path, index=False, encoding="utf-8")


def _xlsx(frame: pd.DataFrame, path: Path | BinaryIO) -> None:
    naive = frame.copy()
    for column in naive.columns:
        if isinstance(naive[column].dtype, pd.DatetimeTZDtype):
            naive[column] = naive[column].dt.tz_localize(None)  # the wall-clock time in the column's zone
    naive.to_excel(path, index=False, engine="openpyxl")


def _parquet(frame: pd.DataFrame, path: Path | BinaryIO) -> None:
    frame.to_parquet(path, index=False, engine="pyarrow")


Writer = Callable[[pd.DataFrame, Path | BinaryIO], None]
WRITERS: dict[str, Writer] = {".csv": _csv, ".xlsx": _xlsx, ".parquet": _parquet}


def check_path(path: str | Path) -> Path:
    """The export path, refused with one line unless its extension is a supported format."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in WRITERS:
        raise ConfigError(f"cannot export to {path.name}: use a .csv, .xlsx or .parquet file")
    return path


def export(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` in the format of its extension; returns the path written."""
    path = check_path(path)
    try:
        WRITERS[path.suffix.lower()](frame, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def to_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    """``frame`` in the format of ``suffix`` (``.csv``, ``.xlsx``, ``.parquet``), as the file would hold it."""
    buffer = io.BytesIO()
    WRITERS[suffix](frame, buffer)
    return buffer.getvalue()
