"""Exports of a real result to .csv, .xlsx and .parquet: read back with pandas, types preserved."""

from __future__ import annotations

import pandas as pd
import pytest

from paysql_magic import core
from paysql_magic.errors import ConfigError
from paysql_magic.export import export
from paysql_magic.settings import Settings

SQL = """
SELECT transaction_id, transaction_ts, transaction_ts::date AS day, amount_kzt, currency, status
FROM transactions ORDER BY transaction_id LIMIT 25
"""


@pytest.fixture(scope="module")
def frame(reader_engine) -> pd.DataFrame:
    result = core.run_sql(SQL, reader_engine, Settings(user_name="test export"), source="api")
    assert isinstance(result.frame["transaction_ts"].dtype, pd.DatetimeTZDtype)
    return result.frame


def _assert_same_values(back: pd.DataFrame, frame: pd.DataFrame, *, local_ts: bool = False) -> None:
    assert list(back.columns) == list(frame.columns)
    assert pd.api.types.is_integer_dtype(back["transaction_id"])
    assert pd.api.types.is_float_dtype(back["amount_kzt"])
    assert back["transaction_id"].tolist() == frame["transaction_id"].tolist()
    assert back["amount_kzt"].tolist() == frame["amount_kzt"].tolist()
    assert pd.api.types.is_datetime64_any_dtype(back["day"])
    assert (back["day"].to_numpy() == frame["day"].to_numpy()).all()
    expected_ts = frame["transaction_ts"].dt.tz_localize(None) if local_ts else frame["transaction_ts"]
    assert pd.api.types.is_datetime64_any_dtype(back["transaction_ts"])
    assert back["transaction_ts"].tolist() == expected_ts.tolist()
    assert back["status"].tolist() == frame["status"].tolist()


def test_csv_is_utf8_without_index(frame, tmp_path) -> None:
    path = export(frame, tmp_path / "report.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(frame.columns)
    back = pd.read_csv(path, parse_dates=["transaction_ts", "day"])
    _assert_same_values(back, frame)


def test_xlsx_keeps_numbers_and_dates_with_local_naive_timestamps(frame, tmp_path) -> None:
    path = export(frame, tmp_path / "report.xlsx")
    back = pd.read_excel(path, engine="openpyxl")
    assert back["transaction_ts"].dt.tz is None  # Excel holds no time zone: the database-local wall-clock time
    _assert_same_values(back, frame, local_ts=True)


def test_parquet_keeps_types_and_time_zone(frame, tmp_path) -> None:
    path = export(frame, tmp_path / "report.parquet")
    back = pd.read_parquet(path)
    assert str(back["transaction_ts"].dt.tz) == str(frame["transaction_ts"].dt.tz)
    _assert_same_values(back, frame)


@pytest.mark.parametrize("name", ["report.json", "report", "report.xls"])
def test_unknown_extension_is_one_line_config_error(frame, tmp_path, name) -> None:
    with pytest.raises(ConfigError, match=r"^cannot export to report[.\w]*: use a .csv, .xlsx or .parquet file$"):
        export(frame, tmp_path / name)


def test_unwritable_path_is_a_config_error(frame, tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot write"):
        export(frame, tmp_path / "missing-dir" / "report.csv")
