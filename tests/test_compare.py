"""The judge of execution accuracy: column pairing by values, tolerance, ordered vs multiset, ties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd

from paysql_magic.evaluation.compare import Rows, equal, order_columns, results_match
from paysql_magic.evaluation.run import rows_of

ALMATY = ZoneInfo("Asia/Almaty")


def test_numbers_match_within_half_a_cent_and_null_only_matches_null():
    assert equal(Decimal("100.004"), 100) and equal(100, 100.005)
    assert not equal(Decimal("100.006"), 100)
    assert equal(None, None)
    assert not equal(None, 0) and not equal(0, None)
    assert not equal("1", 1)


def test_a_date_matches_a_timestamp_at_local_midnight_only():
    assert equal(dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, tzinfo=ALMATY))
    assert not equal(dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 5, tzinfo=ALMATY))
    assert not equal(dt.date(2026, 11, 1), dt.date(2026, 11, 2))


def test_columns_pair_by_values_not_names_and_extra_predicted_columns_are_allowed():
    gold = Rows(("mcc_category", "total_volume"), (("Fuel", 10), ("Groceries", 20)))
    predicted = Rows(("volume", "n", "category"), ((20, 1, "Groceries"), (10, 1, "Fuel")))
    assert results_match(gold, predicted, ordered=False)
    assert not results_match(gold, Rows(("category",), (("Fuel",), ("Groceries",))), ordered=False)


def test_unordered_results_compare_as_multisets():
    gold = Rows(("c",), (("a",), ("a",), ("b",)))
    assert results_match(gold, Rows(("c",), (("b",), ("a",), ("a",))), ordered=False)
    assert not results_match(gold, Rows(("c",), (("b",), ("b",), ("a",))), ordered=False)


def test_ordered_results_must_keep_the_order_except_within_ties():
    sql = "SELECT name, n FROM t ORDER BY n DESC"
    gold = Rows(("name", "n"), (("x", 3), ("y", 2), ("z", 2)))
    assert results_match(gold, Rows(("name", "n"), (("x", 3), ("z", 2), ("y", 2))), ordered=True, gold_sql=sql)
    assert not results_match(gold, Rows(("name", "n"), (("y", 2), ("x", 3), ("z", 2))), ordered=True, gold_sql=sql)
    assert order_columns(sql, ("name", "n")) == [1]


def test_rows_of_a_dataframe_are_plain_python_values():
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "v": [1.5, float("nan")],
            "s": pd.array(["a", None], dtype="str"),
            "ts": pd.to_datetime(["2026-11-01", None]).tz_localize(ALMATY),
        }
    )
    rows = rows_of(frame)
    assert rows.columns == ("n", "v", "s", "ts")
    assert rows.rows[1] == (None, None, None, None)
    assert type(rows.rows[0][0]) is int and rows.rows[0][1] == 1.5 and rows.rows[0][2] == "a"
    assert equal(dt.date(2026, 11, 1), rows.rows[0][3])
