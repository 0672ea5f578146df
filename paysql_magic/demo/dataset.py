"""The demo payments dataset: schema and comments, deterministic generation, COPY load, and the reader role.

``prepare_database`` works on any PostgreSQL given a superuser URL. The data is a pure function of
(seed, anchor date, rows): the transactions cover the 180 days ending at the anchor date, in the
Asia/Almaty time zone, and those after the moment of generation are cut off.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

import numpy as np
import pandas as pd
from psycopg import Cursor, sql
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from paysql_magic import grants, store
from paysql_magic.connection import connect, normalize_url
from paysql_magic.demo.mcc import ATM, BILL, BRANDS, CASH_MCC, CITIES, MCC_CODES, ONLINE, STORE, TRAVEL_CATEGORY
from paysql_magic.errors import ConfigError

SEED = 20_240_301
DEFAULT_ROWS = 1_000_000
GENERATOR_VERSION = 1
TIMEZONE = "Asia/Almaty"
READER_ROLE = "paysql_reader"
META_TABLE = "paysql_meta.dataset"
DAYS = 180
CUSTOMERS = 5_000
COPY_CHUNK_ROWS = 100_000

CITY_NAMES = np.array([name for name, _ in CITIES], dtype=object)
CITY_WEIGHTS = np.array([weight for _, weight in CITIES]) / sum(weight for _, weight in CITIES)
CURRENCIES = np.array(["KZT", "USD", "EUR", "RUB"], dtype=object)
KZT_PER_UNIT = np.array([505.0, 590.0, 6.45])  # USD, EUR, RUB: starting rates of a daily random walk
FOREIGN_SPLIT = (0.55, 0.20, 0.25)  # USD, EUR, RUB among non-KZT payments
CARD_TYPES = np.array(["VISA", "MASTERCARD", "UNIONPAY"], dtype=object)
CARD_SHARE = (0.55, 0.35, 0.10)
CHANNELS = np.array(["POS", "ECOM", "ATM"], dtype=object)
POS, ECOM, ATM_CHANNEL = 0, 1, 2
STATUSES = np.array(["approved", "declined", "reversed"], dtype=object)
DECLINE_RATE = np.array([0.05, 0.085, 0.06])  # by channel; foreign-currency payments are declined more
REVERSAL_RATE = np.array([0.02, 0.035, 0.005])
SEGMENTS = np.array(["retail", "premium", "business"], dtype=object)
SEGMENT_SHARE = (0.82, 0.13, 0.05)
SEGMENT_ACTIVITY = np.array([1.0, 1.6, 2.5])
SEGMENT_SPEND = np.array([1.0, 1.8, 2.5])
WEEKDAY_FACTOR = np.array([1.0, 1.02, 1.04, 1.06, 1.15, 0.85, 0.75])  # Monday .. Sunday
HOURS_0_11 = (0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.6, 1.5, 2.8, 3.6, 4.2, 4.6)
HOURS_12_23 = (5.4, 5.6, 5.0, 4.9, 5.2, 6.0, 7.0, 7.4, 6.8, 5.2, 3.4, 1.8)  # busiest in the evening
HOURLY = np.array([*HOURS_0_11, *HOURS_12_23]) / sum(HOURS_0_11 + HOURS_12_23)
GROWTH = 0.12  # the last day has 12% more payments than the first
ZIPF_EXPONENT = 0.9
TRAVEL_REACH = 0.05  # relative weight of an outlet in another city than the customer's
STORE_ECOM_SHARE = 0.04

MALE_NAMES = (  # separated by spaces
    "Nurlan Arman Yerlan Daniyar Askar Timur Dmitry Alexey Sergey Bauyrzhan Azamat Ruslan Marat Olzhas "
    "Aidos Yerzhan Dias Alikhan Ivan Andrey Maxim Kanat Serik Dauren Zhandos Sanzhar Islam Vladimir"
)
FEMALE_NAMES = (  # separated by spaces
    "Aigerim Dana Aruzhan Madina Saule Gulnara Aliya Dinara Asel Zhanar Kamila Anna Elena Olga Natalya "
    "Yekaterina Ainur Assem Tomiris Ayana Akbota Moldir Zarina Irina Svetlana Laura Aizhan"
)
SURNAMES = (  # separated by spaces
    "Nurlanov Akhmetov Omarov Suleimenov Zhaksybekov Abenov Iskakov Kassymov Ibraimov Sadykov Mukhametov "
    "Tulegenov Nurpeisov Zhumabayev Baimukhanov Seitkaliyev Ivanov Petrov Smirnov Kuznetsov Popov Volkov "
    "Pavlov Kozlov Sokolov Kim Tsoi Li Pak"
)


class Column(NamedTuple):
    name: str
    type: str
    comment: str


class Table(NamedTuple):
    comment: str
    columns: tuple[Column, ...]


SCHEMA: dict[str, Table] = {
    "mcc_codes": Table(
        "Merchant Category Codes (MCC, ISO 18245): the kind of business a merchant runs, grouped into categories.",
        (
            Column("mcc_code", "integer NOT NULL", "Four-digit Merchant Category Code, e.g. 5411 for grocery stores."),
            Column(
                "mcc_category",
                "text NOT NULL",
                "Spending category in plain English, e.g. 'Groceries', 'Restaurants', 'Fuel', 'Cash withdrawal'; "
                "several codes share one category. Group by this for spending by category.",
            ),
            Column("description", "text", "Official description of the code."),
        ),
    ),
    "merchants": Table(
        "Merchants that accept card payments: shops, restaurants, online services and ATMs, one row per outlet.",
        (
            Column("merchant_id", "integer NOT NULL", "Merchant identifier."),
            Column(
                "merchant_name",
                "text NOT NULL",
                "Merchant name as shown on card statements, e.g. 'Magnum Almaty 3' or 'Kaspi Magazin'; unique.",
            ),
            Column("mcc_code", "integer", "Merchant Category Code; join mcc_codes for the category."),
            Column(
                "city",
                "text NOT NULL",
                "City in Kazakhstan where the merchant is registered, in English spelling (Almaty, Astana, "
                "Shymkent, ...); online services are registered at their head office.",
            ),
            Column("registered_at", "date NOT NULL", "Date the merchant started accepting cards."),
        ),
    ),
    "customers": Table(
        "Cardholders: the bank's customers who make the payments.",
        (
            Column("customer_id", "integer NOT NULL", "Customer identifier."),
            Column("full_name", "text", "Customer's first and last name."),
            Column("city", "text", "City of residence in Kazakhstan, in English spelling (Almaty, Astana, ...)."),
            Column(
                "segment",
                "text",
                "Customer segment: 'retail' (mass market), 'premium' (affluent), 'business' (company cards).",
            ),
            Column("created_at", "date", "Date the customer became a client of the bank."),
        ),
    ),
    "transactions": Table(
        "Card transactions (purchases and ATM cash withdrawals), one row per authorisation, "
        "for the last 180 days up to now.",
        (
            Column("transaction_id", "bigint NOT NULL", "Transaction identifier; increases with time."),
            Column(
                "transaction_ts",
                "timestamptz NOT NULL",
                "When the transaction happened. The database time zone is Asia/Almaty, so current_date is the "
                "local day: today is transaction_ts >= current_date AND transaction_ts < current_date + 1.",
            ),
            Column("customer_id", "integer", "Customer who paid; joins customers."),
            Column("merchant_id", "integer", "Merchant that was paid; joins merchants."),
            Column("amount", "numeric(14,2) NOT NULL", "Amount in the original currency of the transaction."),
            Column(
                "currency",
                "char(3) NOT NULL",
                "Original currency, ISO 4217 code: 'KZT', 'USD', 'EUR' or 'RUB'.",
            ),
            Column(
                "amount_kzt",
                "numeric(14,2) NOT NULL",
                "Amount converted to Kazakhstani tenge (KZT); use this for volumes and sums.",
            ),
            Column("card_type", "text", "Card scheme: 'VISA', 'MASTERCARD' or 'UNIONPAY'."),
            Column(
                "channel",
                "text",
                "Where the card was used: 'POS' (card terminal in a shop), 'ECOM' (online), 'ATM' (cash withdrawal).",
            ),
            Column(
                "status",
                "text",
                "Outcome: 'approved', 'declined' (refused, no money moved) or 'reversed' (approved, then cancelled).",
            ),
        ),
    ),
}

KEYS_AND_INDEXES = """
ALTER TABLE mcc_codes ADD PRIMARY KEY (mcc_code);
ALTER TABLE merchants ADD PRIMARY KEY (merchant_id), ADD UNIQUE (merchant_name),
    ADD FOREIGN KEY (mcc_code) REFERENCES mcc_codes (mcc_code);
ALTER TABLE customers ADD PRIMARY KEY (customer_id);
ALTER TABLE transactions ADD PRIMARY KEY (transaction_id),
    ADD FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    ADD FOREIGN KEY (merchant_id) REFERENCES merchants (merchant_id);
CREATE INDEX transactions_transaction_ts_idx ON transactions (transaction_ts);
CREATE INDEX transactions_merchant_id_idx ON transactions (merchant_id);
CREATE INDEX transactions_customer_id_idx ON transactions (customer_id);
CREATE INDEX transactions_status_idx ON transactions (status);
CREATE INDEX merchants_city_idx ON merchants (city);
CREATE INDEX merchants_mcc_code_idx ON merchants (mcc_code);
"""

META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS paysql_meta;
DROP TABLE IF EXISTS {META_TABLE};
CREATE TABLE {META_TABLE} (
    anchor_date date NOT NULL,
    rows integer NOT NULL,
    seed bigint NOT NULL,
    generator_version integer NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now(),
    cutoff timestamptz NOT NULL,
    row_count bigint NOT NULL
);
COMMENT ON TABLE {META_TABLE} IS 'The demo dataset now loaded in public (one row): what it was generated from.';
"""


@dataclass(frozen=True)
class DemoDatabase:
    """A prepared demo database; ``data_dir`` is None when it lives on a server paysql-magic did not start."""

    data_dir: Path | None
    admin_url: str  # superuser URL, for set-up only
    reader_url: str  # the paysql_reader role: what notebooks and the demo use
    anchor_date: date  # the dataset's "today"
    rows: int  # transactions in the 180 days up to the end of the anchor date (those after now are cut off)
    created: bool  # True when the dataset was (re)generated by this call


@dataclass(frozen=True)
class Calendar:
    """The dataset's days: UTC epoch seconds of each local midnight, and the last second that may hold data."""

    anchor_date: date
    midnights: np.ndarray  # DAYS + 1 values: the first day's midnight .. the midnight after the anchor date
    cutoff: int


# --- generation ---------------------------------------------------------------------------------------------


def generate(calendar: Calendar, rows: int, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The four tables. Only the cut-off depends on the time of the call: the rest is fixed by (seed, anchor, rows)."""
    merchants = _merchants(np.random.default_rng([seed, 1]), calendar.anchor_date)
    customers = _customers(np.random.default_rng([seed, 2]), calendar.anchor_date)
    transactions = _transactions(np.random.default_rng([seed, 3]), calendar, rows, merchants, customers)
    mcc_codes = pd.DataFrame([m[:3] for m in MCC_CODES], columns=["mcc_code", "mcc_category", "description"])
    return {"mcc_codes": mcc_codes, "merchants": merchants, "customers": customers, "transactions": transactions}


def _dates(anchor: date, age: np.ndarray) -> np.ndarray:
    return (np.datetime64(anchor, "D") - age.astype("timedelta64[D]")).astype(str).astype(object)


def _with_ids(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Oldest first, so that ids grow with registration dates."""
    frame = frame.sort_values("since_day", kind="stable").reset_index(drop=True)
    frame.insert(0, id_column, np.arange(1, len(frame) + 1))
    return frame


def _branch_names(brand_name: str, cities: list[str]) -> list[str]:
    per_city, seen = Counter(cities), Counter()
    names = []
    for city in cities:
        seen[city] += 1
        names.append(f"{brand_name} {city}" + (f" {seen[city]}" if per_city[city] > 1 else ""))
    return names


def _merchants(rng: np.random.Generator, anchor: date) -> pd.DataFrame:
    mcc = {m.code: m for m in MCC_CODES}
    records = []
    for brand in BRANDS:
        cities = list(brand.cities or rng.choice(CITY_NAMES, size=brand.branches, p=CITY_WEIGHTS))
        names = [brand.name] if brand.kind == ONLINE else _branch_names(brand.name, cities)
        code = mcc[brand.mcc]
        records += [
            (name, brand.mcc, city, brand.kind, brand.traffic, code.category, code.median_kzt, code.spread)
            for name, city in zip(names, cities, strict=True)
        ]
    columns = ["merchant_name", "mcc_code", "city", "kind", "traffic", "category", "median_kzt", "spread"]
    frame = pd.DataFrame(records, columns=columns)
    age = rng.integers(0, 5 * 365, len(frame))
    score = frame["traffic"] * rng.lognormal(0.0, 0.5, len(frame))
    frame["weight"] = score.rank(ascending=False, method="first") ** -ZIPF_EXPONENT
    frame["registered_at"] = _dates(anchor, age)
    frame["since_day"] = DAYS - 1 - age
    return _with_ids(frame, "merchant_id")


def _surname(stem: str, female: bool) -> str:
    return stem + "a" if female and stem.endswith(("ov", "ev")) else stem


def _customers(rng: np.random.Generator, anchor: date) -> pd.DataFrame:
    n = CUSTOMERS
    female = rng.random(n) < 0.5
    first = np.where(female, rng.choice(FEMALE_NAMES.split(), n), rng.choice(MALE_NAMES.split(), n))
    last = rng.choice(SURNAMES.split(), n)
    segment = rng.choice(len(SEGMENTS), n, p=SEGMENT_SHARE)
    age = rng.integers(0, 6 * 365, n)
    frame = pd.DataFrame(
        {
            "full_name": [f"{f} {_surname(s, w)}" for f, s, w in zip(first, last, female, strict=True)],
            "city": rng.choice(CITY_NAMES, n, p=CITY_WEIGHTS),
            "segment": SEGMENTS[segment],
            "created_at": _dates(anchor, age),
            "card_type": rng.choice(CARD_TYPES, n, p=CARD_SHARE),
            "activity": rng.gamma(0.8, size=n) * SEGMENT_ACTIVITY[segment],
            "spend": SEGMENT_SPEND[segment],
            "since_day": DAYS - 1 - age,
        }
    )
    return _with_ids(frame, "customer_id")


def _days(rng: np.random.Generator, anchor: date, rows: int) -> np.ndarray:
    """Day index (0 .. DAYS-1) of each transaction, sorted: weekdays busier, slow growth, every day has data."""
    day = np.arange(DAYS)
    weekday = ((anchor - timedelta(days=DAYS - 1)).weekday() + day) % 7
    weight = WEEKDAY_FACTOR[weekday] * (1 + GROWTH * day / (DAYS - 1)) * rng.lognormal(0.0, 0.05, DAYS)
    floor = 1 if rows >= DAYS else 0
    counts = floor + rng.multinomial(rows - floor * DAYS, weight / weight.sum())
    return np.repeat(day, counts)


def _timestamps(rng: np.random.Generator, calendar: Calendar, day: np.ndarray) -> np.ndarray:
    """Epoch seconds, sorted, busiest in the evening; each day opens with a payment in its first seconds."""
    midnights = calendar.midnights
    clock = rng.choice(24, size=day.size, p=HOURLY) * 3600 + rng.integers(0, 3600, day.size)
    ts = np.sort(midnights[day] + clock * np.diff(midnights)[day] // 86_400)
    first = np.flatnonzero(np.diff(day, prepend=-1))
    ts[first] = np.minimum(ts[first], midnights[day[first]] + rng.integers(0, 10, first.size))
    return ts


def _pick(rng: np.random.Generator, weight: np.ndarray, since_day: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Weighted choice per row among the entities that already existed on that row's day."""
    order = np.argsort(since_day, kind="stable")
    cumulative = np.cumsum(weight[order])
    existing = np.searchsorted(since_day[order], day, side="right")
    return order[np.searchsorted(cumulative, rng.random(day.size) * cumulative[existing - 1], side="right")]


def _pick_merchants(
    rng: np.random.Generator, merchants: pd.DataFrame, customer_city: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Online services serve the whole country, outlets their own city (and a few travellers), bills only locals."""
    city, kind = merchants["city"].to_numpy(), merchants["kind"].to_numpy()
    since_day, weight = merchants["since_day"].to_numpy(), merchants["weight"].to_numpy()
    picked = np.empty(day.size, dtype=np.int64)
    for name, share in zip(CITY_NAMES, CITY_WEIGHTS, strict=True):
        local = city == name
        reach = np.select([kind == ONLINE, local, kind == BILL], [1.0, 1.0 / share, 0.0], TRAVEL_REACH)
        rows = np.flatnonzero(customer_city == name)
        picked[rows] = _pick(rng, weight * reach, since_day, day[rows])
    return picked


def _channels(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    channel = np.select([kind == ATM, (kind == ONLINE) | (kind == BILL)], [ATM_CHANNEL, ECOM], POS)
    channel[(kind == STORE) & (rng.random(kind.size) < STORE_ECOM_SHARE)] = ECOM
    return channel


def _currencies(rng: np.random.Generator, channel: np.ndarray, travel: np.ndarray) -> np.ndarray:
    """Index into CURRENCIES: mostly tenge; foreign currencies online and in travel, never at ATMs."""
    foreign_share = np.where(channel == ECOM, 0.24, 0.08) + 0.25 * travel
    foreign = (rng.random(channel.size) < foreign_share) & (channel != ATM_CHANNEL)
    return np.where(foreign, rng.choice(3, size=channel.size, p=FOREIGN_SPLIT) + 1, 0)


def _rates(rng: np.random.Generator) -> np.ndarray:
    """KZT per unit of each currency (rows as CURRENCIES) for each day: a daily random walk, 2 decimals."""
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.0025, (3, DAYS)), axis=1))
    return np.vstack([np.ones(DAYS), np.round(KZT_PER_UNIT[:, None] * walk, 2)])


def _amounts(
    rng: np.random.Generator, merchant: pd.DataFrame, spend: np.ndarray, currency: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(amount, amount_kzt) in cents: whole tenge (ATM: thousands); foreign amounts converted at the day's rate."""
    median, spread = merchant["median_kzt"].to_numpy(), merchant["spread"].to_numpy()
    kzt = rng.lognormal(np.log(median), spread) * spend
    cash = merchant["mcc_code"].to_numpy() == CASH_MCC
    kzt = np.where(cash, np.maximum(np.round(kzt, -3), 1000), np.maximum(np.round(kzt), 1)) * 100
    rate = _rates(rng)[currency, day]
    amount = np.where(currency == 0, kzt, np.maximum(np.round(kzt / rate), 1))
    return amount, np.round(amount * rate)


def _statuses(rng: np.random.Generator, channel: np.ndarray, currency: np.ndarray) -> np.ndarray:
    declined = DECLINE_RATE[channel] + 0.04 * (currency > 0)
    draw = rng.random(channel.size)
    return np.where(draw < declined, 1, np.where(draw < declined + REVERSAL_RATE[channel], 2, 0))


def _transactions(
    rng: np.random.Generator, calendar: Calendar, rows: int, merchants: pd.DataFrame, customers: pd.DataFrame
) -> pd.DataFrame:
    day = _days(rng, calendar.anchor_date, rows)
    ts = _timestamps(rng, calendar, day)
    customer = _pick(rng, customers["activity"].to_numpy(), customers["since_day"].to_numpy(), day)
    picked = _pick_merchants(rng, merchants, customers["city"].to_numpy()[customer], day)
    merchant = merchants.iloc[picked]
    channel = _channels(rng, merchant["kind"].to_numpy())
    currency = _currencies(rng, channel, merchant["category"].to_numpy() == TRAVEL_CATEGORY)
    amount, amount_kzt = _amounts(rng, merchant, customers["spend"].to_numpy()[customer], currency, day)
    status = _statuses(rng, channel, currency)
    frame = pd.DataFrame(
        {
            "transaction_id": np.arange(1, day.size + 1),
            "transaction_ts": pd.to_datetime(ts, unit="s"),  # UTC
            "customer_id": customers["customer_id"].to_numpy()[customer],
            "merchant_id": merchant["merchant_id"].to_numpy(),
            "amount": amount / 100,
            "currency": CURRENCIES[currency],
            "amount_kzt": amount_kzt / 100,
            "card_type": customers["card_type"].to_numpy()[customer],
            "channel": CHANNELS[channel],
            "status": STATUSES[status],
        }
    )
    return frame[ts <= calendar.cutoff]


# --- the database -------------------------------------------------------------------------------------------


def _calendar(cur: Cursor, anchor_date: date | None) -> Calendar:
    """Days in the database's own time zone; the anchor defaults to its current_date (not the machine's)."""
    today, now = cur.execute("SELECT current_date, extract(epoch FROM now())::float8").fetchone()
    anchor = anchor_date or today
    if anchor > today:
        raise ConfigError(f"anchor date {anchor} is after the database's current date {today} ({TIMEZONE})")
    cur.execute(
        "SELECT extract(epoch FROM ((%s::date + i)::timestamp AT TIME ZONE %s))::bigint "
        "FROM generate_series(%s, 1) AS i ORDER BY i",
        (anchor, TIMEZONE, 1 - DAYS),
    )
    midnights = np.array([row[0] for row in cur.fetchall()], dtype=np.int64)
    return Calendar(anchor, midnights, min(int(now), int(midnights[-1]) - 1))


def _stored_meta(cur: Cursor) -> dict | None:
    if cur.execute("SELECT to_regclass(%s)", (META_TABLE,)).fetchone()[0] is None:
        return None
    row = cur.execute(f"SELECT to_jsonb(d) FROM {META_TABLE} d").fetchone()
    return row[0] if row else None


def _reusable(cur: Cursor, anchor: date, rows: int) -> bool:
    wanted = {"anchor_date": anchor.isoformat(), "rows": rows, "seed": SEED, "generator_version": GENERATOR_VERSION}
    meta = _stored_meta(cur)
    tables = cur.execute("SELECT count(to_regclass(t)) FROM unnest(%s::text[]) AS t", (list(SCHEMA),)).fetchone()[0]
    return meta is not None and tables == len(SCHEMA) and all(meta.get(k) == v for k, v in wanted.items())


def _create_tables(cur: Cursor) -> None:
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(", ").join(map(sql.Identifier, SCHEMA))))
    for name, table in SCHEMA.items():
        columns = sql.SQL(", ").join(sql.SQL(f"{{}} {c.type}").format(sql.Identifier(c.name)) for c in table.columns)
        cur.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(name), columns))


def _copy(cur: Cursor, name: str, frame: pd.DataFrame) -> None:
    """COPY FREEZE (the table is new in this transaction): rows are loaded already visible to everyone."""
    columns = [c.name for c in SCHEMA[name].columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, FREEZE)").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    frame = frame[columns]
    with cur.copy(statement) as copy:
        for start in range(0, len(frame), COPY_CHUNK_ROWS):  # the server parses a chunk while the next is formatted
            copy.write(frame.iloc[start : start + COPY_CHUNK_ROWS].to_csv(index=False, header=False))


def _comment(cur: Cursor) -> None:
    for name, table in SCHEMA.items():
        cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(sql.Identifier(name), sql.Literal(table.comment)))
        for column in table.columns:
            cur.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    sql.Identifier(name), sql.Identifier(column.name), sql.Literal(column.comment)
                )
            )


def _load(cur: Cursor, calendar: Calendar, rows: int) -> None:
    """Drop and regenerate the four tables, then keys, indexes, comments, statistics and metadata."""
    tables = generate(calendar, rows)
    _create_tables(cur)
    cur.execute("SET LOCAL TimeZone TO 'UTC'")  # the generated timestamps are UTC
    for name, frame in tables.items():
        _copy(cur, name, frame)
    cur.execute(f"SET LOCAL TimeZone TO '{TIMEZONE}'")
    cur.execute("SET LOCAL maintenance_work_mem TO '256MB'")
    cur.execute(KEYS_AND_INDEXES)
    _comment(cur)
    cur.execute("ANALYZE mcc_codes, merchants, customers, transactions")
    cur.execute(META_DDL)
    cur.execute(
        f"INSERT INTO {META_TABLE} (anchor_date, rows, seed, generator_version, cutoff, row_count) "
        "VALUES (%s, %s, %s, %s, to_timestamp(%s), %s)",
        (calendar.anchor_date, rows, SEED, GENERATOR_VERSION, calendar.cutoff, len(tables["transactions"])),
    )


def _grant_reader(cur: Cursor, reader_password: str | None) -> None:
    """The reader may read the four tables and use paysql's own schema through its functions (append to the audit
    log, the query cache and verified examples, its own monitoring figures): nothing else, temp files bounded. A
    production role gets the same (``paysql grant-readonly``)."""
    database = cur.execute("SELECT current_database()").fetchone()[0]
    for statement in grants.readonly_statements(READER_ROLE, database, list(SCHEMA)):
        cur.execute(statement)
    if reader_password is not None:
        cur.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(READER_ROLE), sql.Literal(reader_password))
        )


def _begin(cur: Cursor) -> sql.Identifier:
    """Wait for any other preparer, work in Asia/Almaty and make it the database's time zone; returns its name."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('paysql-magic demo dataset'))")
    cur.execute(f"SET LOCAL TimeZone TO '{TIMEZONE}'; SET LOCAL search_path TO public")
    database = sql.Identifier(cur.execute("SELECT current_database()").fetchone()[0])
    cur.execute(sql.SQL("ALTER DATABASE {} SET timezone TO {}").format(database, sql.Literal(TIMEZONE)))
    return database


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The URL with another user (and password), everything else kept as written."""
    parts = urlsplit(url)
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{parts.netloc.rpartition('@')[2]}"))


def prepare_database(
    admin_url: str,
    *,
    rows: int | None = None,
    anchor_date: date | None = None,
    reset: bool = False,
    reader_password: str | None = None,
) -> DemoDatabase:
    """Make the database at ``admin_url`` (a superuser URL) hold the demo dataset, the audit table and the reader.

    The dataset is reused when it was generated for the same anchor date (default: the database's current_date
    in Asia/Almaty) and number of rows (default: the stored dataset's, ``DEFAULT_ROWS`` for a new one);
    otherwise, or with ``reset``, it is regenerated in one transaction.
    """
    if rows is not None and rows < 1:
        raise ConfigError("rows must be at least 1")
    admin_url = normalize_url(admin_url)
    engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        with connect(engine) as conn, conn.begin():
            cur = conn.connection.driver_connection.cursor()
            _begin(cur)
            calendar = _calendar(cur, anchor_date)
            rows = rows or (_stored_meta(cur) or {}).get("rows", DEFAULT_ROWS)
            created = reset or not _reusable(cur, calendar.anchor_date, rows)
            if created:
                _load(cur, calendar, rows)
            store.ensure(conn)  # paysql's own schema, moving the tables of an older demo out of public
            _grant_reader(cur, reader_password)
    finally:
        engine.dispose()
    reader_url = with_user(admin_url, READER_ROLE, reader_password)
    return DemoDatabase(None, admin_url, reader_url, calendar.anchor_date, rows, created)
