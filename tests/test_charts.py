"""Chart rules: which shape gets which chart, labels in the question's language (dimension columns labelled by
the semantic model's roles), KZT formatting."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from paysql_magic.charts import chart, label, language, money_format, png_bytes
from paysql_magic.demo import demo_model
from paysql_magic.semantic import SemanticModel, from_document

DAYS = pd.date_range("2026-01-01", periods=5, freq="D")


def _daily() -> pd.DataFrame:
    # out of order on purpose: the chart orders by time
    return pd.DataFrame({"day": DAYS[[3, 0, 4, 1, 2]], "total_volume": [4e6, 1e6, 5e6, 2e6, 3e6]})


def test_time_series_is_a_line_ordered_by_time_with_the_time_column_on_x() -> None:
    figure = chart(_daily(), "Daily volume for the last 30 days")
    (ax,) = figure.axes
    (line,) = ax.get_lines()
    x = mdates.num2date(line.get_xdata(orig=False))
    assert [d.date() for d in x] == [d.date() for d in DAYS]
    assert list(line.get_ydata()) == [1e6, 2e6, 3e6, 4e6, 5e6]
    assert ax.get_xlabel() == "Day"
    assert ax.get_ylabel() == "Volume, KZT"
    assert figure.get_suptitle() == "Daily volume for the last 30 days"
    assert png_bytes(figure).startswith(b"\x89PNG")


def test_every_measure_of_a_time_series_gets_its_own_scale() -> None:
    frame = _daily().assign(total_transactions=pd.array([4, 1, 5, 2, 3], dtype="Int64"))
    figure = chart(frame, "Дневной объем и количество транзакций")
    assert [ax.get_ylabel() for ax in figure.axes] == ["Объем, KZT", "Транзакции"]
    assert figure.axes[-1].get_xlabel() == "День"


def test_a_datetime_column_of_any_name_is_a_time_axis() -> None:
    frame = pd.DataFrame({"created": DAYS.tz_localize("Asia/Almaty"), "calls": [1, 2, 3, 4, 5]})
    assert chart(frame, "calls").axes[-1].get_xlabel() == "Date"


def test_hour_buckets_are_a_time_series_even_as_integers() -> None:
    frame = pd.DataFrame({"hour": [2, 0, 1], "total_transactions": [30, 10, 20]})
    (line,) = chart(frame, "By hour").axes[0].get_lines()
    assert list(line.get_xdata()) == [0, 1, 2]


def test_breakdown_is_horizontal_bars_sorted_by_the_measure_largest_on_top() -> None:
    frame = pd.DataFrame({"mcc_category": ["Travel", "Groceries", "Fuel"], "total_volume": [2e6, 9e6, 5e5]})
    figure = chart(frame, "Top 5 MCC categories by volume today", model=demo_model())
    (ax,) = figure.axes
    bars = ax.patches
    assert [b.get_width() for b in bars] == [5e5, 2e6, 9e6]  # bottom to top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Fuel", "Travel", "Groceries"]
    assert all(b.get_height() < 1 for b in bars)  # horizontal bars: the measure is the width
    assert ax.get_xlabel() == "Volume, KZT" and ax.get_ylabel() == "Category"  # the demo's category role
    assert ax.get_title() == "Top 5 MCC categories by volume today"


def test_breakdown_labels_are_russian_for_a_russian_question() -> None:
    frame = pd.DataFrame({"merchant_name": ["A", "B"], "total_volume": [1.0, 2.0]})
    ax = chart(frame, "Топ 10 мерчантов по объему транзакций", model=demo_model()).axes[0]
    assert ax.get_xlabel() == "Объем, KZT" and ax.get_ylabel() == "Мерчант"


def processor_model() -> SemanticModel:
    """A company whose merchants are ``acquiring.shops.title`` and whose payment systems are ``network``."""
    return from_document(
        {
            "version": 1,
            "semantic_models": [
                {
                    "name": "payments",
                    "model": "acquiring.payments",
                    "defaults": {"agg_time_dimension": "paid_at"},
                    "entities": [
                        {"name": "payment", "type": "primary", "expr": "payment_id"},
                        {"name": "shop", "type": "foreign", "expr": "shop_id"},
                    ],
                    "dimensions": [
                        {"name": "paid_at", "type": "time"},
                        {"name": "network", "type": "categorical"},
                        {"name": "kind", "type": "categorical"},
                    ],
                },
                {
                    "name": "shops",
                    "model": "acquiring.shops",
                    "entities": [{"name": "shop", "type": "primary", "expr": "shop_id"}],
                    "dimensions": [{"name": "title", "type": "categorical"}, {"name": "town", "type": "categorical"}],
                },
            ],
            "payments": {
                "fact": "payments",
                "amount": "amount",
                "unit": "minor",
                "roles": {
                    "merchant": {"dimension": "shops.title"},
                    "city": {"dimension": "shops.town"},
                    "card_brand": {"dimension": "payments.network"},
                    "payment_kind": {"dimension": "payments.kind"},
                },
            },
        }
    )


@pytest.mark.parametrize(
    ("column", "lang", "expected"),
    [
        ("title", "en", "Merchant"),
        ("title", "ru", "Мерчант"),
        ("town", "en", "City"),
        ("town", "ru", "Город"),
        ("network", "en", "Payment system"),
        ("network", "ru", "Платёжная система"),
        ("payment_kind", "en", "Payment kind"),  # a role with no label of its own: its name
        ("kind", "en", "Payment kind"),
        ("merchant", "ru", "Мерчант"),  # a column named as the role
        ("total_volume", "en", "Volume, KZT"),  # measures keep their labels
        ("shop_id", "en", "shop_id"),  # no role's column: as it is
    ],
)
def test_a_models_role_columns_get_the_roles_labels(column: str, lang: str, expected: str) -> None:
    assert label(column, lang, processor_model()) == expected


def test_a_breakdown_by_a_role_column_is_labelled_by_the_role() -> None:
    frame = pd.DataFrame({"title": ["Shop A", "Shop B"], "total_volume": [1.0, 2.0]})
    model = processor_model()
    assert chart(frame, "Top shops", model=model).axes[0].get_ylabel() == "Merchant"
    assert chart(frame, "Топ магазинов", model=model).axes[0].get_ylabel() == "Мерчант"
    assert chart(frame, "Top shops").axes[0].get_ylabel() == "title"  # without a model: the column's name


def test_the_demos_column_names_are_no_labels_without_its_model() -> None:
    assert label("merchant_name", "en") == "merchant_name"
    assert label("mcc_category", "ru") == "mcc_category"
    assert label("city", "ru") == "Город" and label("channel", "en") == "Channel"  # role words are vocabulary


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"total_transactions": [20000]}),  # a scalar
        pd.DataFrame({"merchant_name": ["A"], "city": ["Almaty"], "total_volume": [1.0]}),  # two text columns
        pd.DataFrame({"merchant_name": ["A", "B"]}),  # no measure
        pd.DataFrame({"day": DAYS[:0], "total_volume": []}),  # empty
        pd.DataFrame({"currency": [f"C{i}" for i in range(41)], "total_volume": np.arange(41.0)}),  # too many bars
    ],
)
def test_other_shapes_get_no_chart(frame: pd.DataFrame) -> None:
    assert chart(frame, "question") is None


def test_money_ticks_have_thousands_separators_and_kzt() -> None:
    assert money_format(1234567.4, "en") == "1,234,567 KZT"
    assert money_format(1234567.4, "ru") == "1\u00a0234\u00a0567 KZT"
    ax = chart(_daily(), "Daily volume").axes[0]
    formatter = ax.yaxis.get_major_formatter()
    assert formatter(2_500_000, 0) == "2,500,000 KZT"


@pytest.mark.parametrize(
    ("column", "expected"),
    [("total_volume", True), ("avg_amount", True), ("amount_kzt", True), ("fee_kzt", True), ("calls", False)],
)
def test_money_columns_are_labelled_in_kzt(column: str, expected: bool) -> None:
    assert label(column, "en").endswith(", KZT") is expected


def test_language_follows_cyrillic() -> None:
    assert language("Сколько транзакций?") == "ru"
    assert language("How many?") == "en"
    assert language(None) == "en"


def test_a_running_period_is_marked_partial_and_a_finished_one_is_not() -> None:
    from datetime import datetime

    from paysql_magic.charts import chart, current_period, mark_partial

    days = pd.DataFrame({"day": pd.date_range("2026-11-01", periods=5, freq="D"), "total_volume": [5.0, 6, 7, 8, 1]})
    during = datetime(2026, 11, 5, 14, 30)  # the database's wall clock: the last day is today, still running
    assert current_period(days, during) == "day"
    assert current_period(days, datetime(2026, 11, 6, 0, 0)) is None  # the next day: the last one is whole
    figure = chart(days, "Объем по дням")
    assert mark_partial(figure, days, during, "Объем по дням")
    assert [t.get_text() for t in figure.axes[0].texts] == ["неполный день"]
    weeks = days.rename(columns={"day": "week"}).assign(week=pd.date_range("2026-10-05", periods=5, freq="7D"))
    assert current_period(weeks, datetime(2026, 11, 4)) == "week"
    hours = pd.DataFrame({"hour": [9.0, 10.0], "n": [1, 2]})  # an hour of the day: no date, never partial
    assert current_period(hours, during) is None
