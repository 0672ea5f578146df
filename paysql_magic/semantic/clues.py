"""What a database's names, types and comments say about its tables and columns: which one looks like payments,
which column is its time, its amount (and in which unit), which tables are merchants, customers, cards or lookups,
and how tables join when no foreign key says so. Read by ``draft.py``; nothing here knows one database."""

from __future__ import annotations

import re

from paysql_magic.schema import Column, Schema, Table

_TIME_TYPES = ("timestamp", "timestamptz", "date", "timestamp with", "timestamp without")
_NUMBER_TYPES = ("numeric", "decimal", "bigint", "integer", "int", "smallint", "double", "real", "money")
_TEXT_TYPES = ("text", "varchar", "char", "character", "citext")

_FACT_NAME = re.compile(
    r"payment|transact|txn|operac|operation|platezh|plat[ey]zh|authori[sz]|оплат|платеж|транзак|операц", re.I
)
_MINOR = re.compile(r"tiyn|tyin|тиын|тиин|minor|cents?\b|копе|1/100", re.I)
_TENGE = re.compile(r"tenge|тенге|kzt|тг\b", re.I)
_ORIGINAL = re.compile(r"original|в валюте|currency of|валют[еы] операции|исходн", re.I)
_AMOUNT = re.compile(r"amount|summ?a|sum\b|сумм|value", re.I)
_TIME = re.compile(r"(^|_)(ts|time|timestamp|created|date|data|datetime|at|occurred|posted|when)($|_)|дата|время", re.I)

# role -> (tables it lives in: a name pattern; its columns: a name pattern)
TABLE_KINDS = {
    "merchant": re.compile(
        r"merchant|torgov|shop|store|retailer|outlet|seller|vendor|магазин|торгов|мерчант|точк|продав", re.I
    ),
    "city": re.compile(r"^(cities|city|towns|gorod|goroda|города|город)$", re.I),
    "terminal": re.compile(r"terminal|терминал", re.I),
    "card": re.compile(r"^(karty|cards?|card_accounts?|карты|wallets?|кошельки)$|^cards?_|_cards?$", re.I),
    "customer": re.compile(r"customer|client|klient|cardholder|holder|users?$|клиент|держател|покупат|buyer", re.I),
    "category": re.compile(r"mcc|categor|kategor|категор", re.I),
    "currency": re.compile(r"currenc|valyut|валют", re.I),
    "status": re.compile(r"status|response|result|статус|код(ы)? ответа", re.I),
}
PAN_COLUMN = re.compile(r"^(masked_pan|pan|card_number|nomer_karty|card_no|pan_masked|card_mask)$", re.I)
NAME_COLUMN = re.compile(r"^(name|title|naimenovanie|nazvanie|derzhatel|fio|название|наименование|имя)$|_name$",
                          re.I)  # fmt: skip
COLUMN_ROLES = (  # role, column name pattern, comment pattern
    ("payment_method", r"payment_method|pay_method|method|sposob|способ", r"способ оплаты|payment method"),
    ("channel", r"channel|kanal|канал|entry_mode|source", r"канал|channel"),
    ("status", r"status|state|result|kod_statusa|response_code|resp_code|статус", r"статус|status|код ответа"),
    ("card_brand", r"card_brand|card_system|^brand$|scheme|payment_system|platezhnaya_sistema|network",
     r"платежн\w* систем|card (brand|scheme)"),
    ("card_type", r"card_type|tip_karty|vid_karty|card_kind|card_product", r"тип карт|вид карт|card type"),
    ("currency", r"^(currency|valyuta|currency_code|ccy|bukvennyy_kod|alpha_code|iso_code|kod_valyuty)$",
     r"валют|currency"),
    ("city", r"^(city|gorod|town|город)$", r"город|city"),
    ("segment", r"segment|сегмент", r"сегмент|segment"),
    ("mcc_code", r"^(mcc|mcc_code|kod_mcc)$", r"mcc"),
    ("category", r"category|kategoriya|категория", r"категор|category"),
)  # fmt: skip


def kind_of(column: Column) -> str:
    t = column.type.lower()
    if t.startswith(_TIME_TYPES):
        return "time"
    if t.startswith(_NUMBER_TYPES):
        return "number"
    return "text" if t.startswith(_TEXT_TYPES) else "other"


def sql_name(table: Table) -> str:
    return table.sql_name


def is_view(table: Table) -> bool:
    return "view" in table.kind


def keys_of(table: Table) -> set[str]:
    return set(table.primary_key) | {c for fk in table.foreign_keys for c in fk.columns}


class Tables:
    """The introspected tables, with the joins declared or implied by key names."""

    def __init__(self, schema: Schema) -> None:
        self.tables = [t for t in schema.tables if not is_view(t)]
        self.by_name = {sql_name(t): t for t in self.tables}

    def table(self, name: str, schema_name: str | None = None) -> Table | None:
        for t in self.tables:
            if t.name == name and (schema_name is None or t.schema == schema_name):
                return t
        return None

    def joins(self, table: Table) -> list[tuple[str, Table, str]]:
        """(column of ``table``, the table it refers to, the referred column): declared foreign keys, else a
        column named like another table's one-column primary key (``merchant_id`` -> merchants.merchant_id,
        ``shop_id`` -> shops.id)."""
        found: list[tuple[str, Table, str]] = []
        for fk in table.foreign_keys:
            target = self.table(fk.ref_table, fk.ref_schema)
            if target is not None and len(fk.columns) == 1 and target is not table:
                found.append((fk.columns[0], target, fk.ref_columns[0]))
        declared = {column for column, _, _ in found}
        for column in table.columns:
            if column.name in declared or column.name in table.primary_key:
                continue
            target = self._implied(table, column.name)
            if target is not None:
                found.append((column.name, target, target.primary_key[0]))
        return found

    def _implied(self, table: Table, column: str) -> Table | None:
        stem = re.sub(r"(_id|_code|_kod|id_)$|^(id_|kod_)", "", column.lower())
        for other in self.tables:
            if other is table or len(other.primary_key) != 1 or other.schema != table.schema:
                continue
            pk = other.primary_key[0]
            named = other.name.lower().rstrip("s") in (stem, stem.rstrip("s")) or other.name.lower() == stem + "es"
            if pk == column or (pk == "id" and named and column != "id"):
                return other
        return None


def fact_score(table: Table, schema: Tables) -> float:
    if time_column(table) is None or amount_column(table)[0] is None:
        return 0
    score = 1.0 + len(schema.joins(table))
    text_ = f"{table.name} {table.comment or ''}"
    score += 4 * bool(_FACT_NAME.search(text_))
    score += 2 * any(_AMOUNT.search(c.name) or _AMOUNT.search(c.comment or "") for c in table.columns)
    score += any(re.search(r"status|статус", c.name + (c.comment or ""), re.I) for c in table.columns)
    return score


def time_column(table: Table) -> Column | None:
    times = [c for c in table.columns if kind_of(c) == "time"]
    ranked = sorted(times, key=lambda c: (not _TIME.search(c.name), c.nullable, c.type == "date"))
    return ranked[0] if ranked else None


def amount_column(table: Table) -> tuple[Column | None, str, str | None]:
    """The amount summed for turnover, its unit, and why that unit."""
    keys = keys_of(table)
    numbers = [c for c in table.columns if kind_of(c) == "number" and c.name not in keys and not c.values]

    def rank(c: Column) -> tuple:
        described = f"{c.name} {c.comment or ''}"
        return (
            not _AMOUNT.search(described),
            not _TENGE.search(described),
            bool(_ORIGINAL.search(described)),
            len(c.name),
        )

    ranked = sorted((c for c in numbers if _AMOUNT.search(f"{c.name} {c.comment or ''}")), key=rank)
    if not ranked:
        return None, "tenge", None
    amount = ranked[0]
    described = f"{amount.name} {amount.comment or ''}"
    if _MINOR.search(described):
        clue = f"the comment {amount.comment!r}" if _MINOR.search(amount.comment or "") else f"the name {amount.name!r}"
        return amount, "minor", f"unit guessed from {clue}: minor units, divided by 100"
    return amount, "tenge", None
