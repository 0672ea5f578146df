"""A semantic model drafted from the database alone: names, types, keys, comments and sampled values.

The fact table is the base table (never a view) that looks most like payments: a time column, an amount, keys to
other tables, a status. Its foreign keys (declared, or read from matching key names) give the joins; the columns
of the joined tables give the roles (merchant, city, category ...); values are given their meaning (a status
"FAIL" is declined) by the offline provider's own language. Every guess is reported in ``notes``, every question
left open too; nothing is invented where the schema says nothing. The draft follows the business conventions:
counts and turnover over every status, city = where the payment happened, the database's own time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Engine, text

from paysql_magic.connection import connect
from paysql_magic.egress import is_personal
from paysql_magic.schema import Column, Schema, Table
from paysql_magic.semantic.clues import (
    COLUMN_ROLES,
    NAME_COLUMN,
    PAN_COLUMN,
    TABLE_KINDS,
    Tables,
    amount_column,
    fact_score,
    kind_of,
    sql_name,
    time_column,
)
from paysql_magic.semantic.load import from_document
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.semantic.spec import MEANINGS, VERSION


@dataclass
class Draft:
    """The drafted document, what was inferred and what is left to decide, and the model built from it."""

    document: dict
    notes: list[str] = field(default_factory=list)
    model: SemanticModel | None = None


@cache
def _language_matcher():
    from paysql_magic.providers.offline.lexicon import ENTRIES
    from paysql_magic.providers.offline.matcher import Matcher

    return Matcher(ENTRIES)


def meaning(role: str, label: str) -> str | None:
    """The standard meaning the offline provider's language gives a value of ``role`` ("FAIL" -> declined)."""
    for item in _language_matcher().items(label.replace("_", " ")):
        if item.kind == "value" and item.value[0] == role:
            return str(item.value[1])
    return None


def _labels(engine: Engine | None, table: Table, key: str) -> dict[object, str]:
    """Code -> label read from a small lookup table (a status code's name), when an engine is at hand."""
    texts = [c.name for c in table.columns if kind_of(c) == "text" and c.name != key]
    english = sorted(texts, key=lambda n: (not re.search(r"en|name|label|opis|descr", n, re.I), n))
    if engine is None or not english:
        return {}
    sql = text(f'SELECT "{key}" AS k, "{english[0]}" AS v FROM {sql_name(table)} LIMIT 200')
    try:
        with connect(engine) as conn:
            return {row.k: str(row.v) for row in conn.execute(sql)}
    except Exception:  # a lookup the role cannot read: the values stay without meanings
        return {}


class _Drafter:
    def __init__(self, schema: Schema, engine: Engine | None, database: str | None) -> None:
        self.schema, self.engine, self.database = Tables(schema), engine, database
        self.notes: list[str] = []
        self.models: dict[str, dict] = {}  # semantic model name -> document
        self.roles: dict[str, dict] = {}
        self.personal: list[str] = []
        self.parent_kind: dict[str, str] = {}  # semantic model -> the kind of table it is (merchant, customer ...)

    def note(self, line: str) -> None:
        self.notes.append(line)

    def model_name(self, table: Table) -> str:
        name = table.name
        return (
            name
            if name not in self.models or self.models[name]["model"] == sql_name(table)
            else sql_name(table).replace(".", "_")
        )

    def add_model(self, table: Table, entities: list[dict], name: str | None = None) -> str:
        name = name or self.model_name(table)
        if name in self.models:
            known = {e["name"] for e in self.models[name]["entities"]}
            self.models[name]["entities"] += [e for e in entities if e["name"] not in known]
            return name
        document = {"name": name, "model": sql_name(table)}
        if table.comment:
            document["description"] = table.comment
        document["entities"] = entities
        document["dimensions"] = []
        self.models[name] = document
        business = TABLE_KINDS["merchant"].search(table.name) or TABLE_KINDS["city"].search(table.name)
        for column in table.columns:
            if is_personal(column.name, column.comment) and not business:  # a shop's or a city's name is no person's
                self.personal.append(f"{name}.{column.name}")
        return name

    def dimension(self, model: str, column: Column, kind: str = "categorical") -> None:
        dims = self.models[model]["dimensions"]
        if any(d["name"] == column.name for d in dims):
            return
        entry: dict = {"name": column.name, "type": kind}
        if kind == "time":
            entry["type_params"] = {"time_granularity": "day" if column.type == "date" else "second"}
        if column.comment:
            entry["description"] = column.comment
        dims.append(entry)

    def role(self, role: str, model: str, column: Column, why: str, values: dict | None = None) -> None:
        if role in self.roles:
            return
        self.dimension(model, column)
        spec: dict = {"dimension": f"{model}.{column.name}"}
        if values:
            spec["values"] = values
        self.roles[role] = spec
        self.note(f"{role}: {model}.{column.name} ({why})")

    def build(self) -> Draft:
        candidates = sorted(self.schema.tables, key=lambda t: -fact_score(t, self.schema))
        fact = next((t for t in candidates if fact_score(t, self.schema) > 0), None)
        head = {"version": VERSION, "name": f"{self.database or 'database'} payments"}
        if self.database:
            head["database"] = {"name": self.database}
        if fact is None:
            self.note("no payment-like table (a time column and an amount): a minimal model; the offline provider "
                      "cannot answer until payments is filled in, a language model can")  # fmt: skip
            return Draft({**head, "semantic_models": []}, self.notes)
        self.note(f"fact table: {sql_name(fact)} ({fact.comment or 'a time column, an amount, keys'})")
        return self._payments(fact, head)

    def _payments(self, fact: Table, head: dict) -> Draft:
        time = time_column(fact)
        amount, unit, why = amount_column(fact)
        pk = [{"name": fact.name, "type": "primary", "expr": fact.primary_key[0]}] if fact.primary_key else []
        fact_name = self.add_model(fact, pk or [{"name": fact.name, "type": "natural", "expr": time.name}])
        self.models[fact_name]["defaults"] = {"agg_time_dimension": time.name}
        self.dimension(fact_name, time, "time")
        self.note(f"time: {fact_name}.{time.name} ({time.type}; periods are days in the database time zone)")
        payments: dict = {"fact": fact_name, "time": time.name}
        if amount is not None:
            payments["amount"], payments["unit"] = amount.name, unit
            self.note(f"amount: {fact_name}.{amount.name}" + (f" ({why})" if why else " (in tenge)"))
            self.models[fact_name]["measures"] = [
                {"name": "total_volume", "agg": "sum", "expr": amount.name},
                {"name": "avg_amount", "agg": "average", "expr": amount.name},
            ]
        else:
            self.note("amount: not found (no numeric column named or described as an amount): volumes decline")
        payments["turnover_statuses"] = "all"
        for _, target, _ in self.schema.joins(fact):  # the status codes' lookup, read before the fact's columns
            if TABLE_KINDS["status"].search(target.name) and len(target.primary_key) == 1:
                self._status_lookup(target, target.name)
        self._columns(fact, fact_name, where="fact")  # the payment's own columns first: its status, its city
        self._walk(fact, fact_name, depth=0, path=(sql_name(fact),))
        payments["roles"] = self.roles
        if self.personal:
            payments["personal"] = sorted(set(self.personal))
        missing = [r for r in ("merchant", "city", "status", "channel", "category") if r not in self.roles]
        if missing:
            self.note(f"not found: {', '.join(missing)} (questions naming them decline; add them under payments.roles)")
        document = {**head, "semantic_models": list(self.models.values()), "payments": payments}
        return Draft(document, self.notes)

    def _walk(self, table: Table, name: str, depth: int, path: tuple[str, ...]) -> None:
        """Join the tables ``table`` refers to (three levels deep), each as a semantic model with its roles; a
        table reached again by another path (the cities of merchants and of customers) is a model of its own."""
        if depth > 2:
            return
        for column, target, ref in self.schema.joins(table):
            if sql_name(target) in path:
                continue
            again = any(m["model"] == sql_name(target) for m in self.models.values())
            model_name = f"{name}_{target.name}" if again else target.name
            entity = model_name
            self.models[name]["entities"].append({"name": entity, "type": "foreign", "expr": column})
            target_name = self.add_model(target, [{"name": entity, "type": "primary", "expr": ref}], model_name)
            self._table_roles(target, target_name, column, parent=name)
            self._walk(target, target_name, depth + 1, (*path, sql_name(target)))

    def _table_roles(self, table: Table, name: str, via: str, parent: str | None = None) -> None:
        kind = next((k for k, pattern in TABLE_KINDS.items() if pattern.search(table.name)), None)
        if kind is None and table.comment:
            kind = next((k for k, pattern in TABLE_KINDS.items() if pattern.search(table.comment)), None)
        names = [c for c in table.columns if NAME_COLUMN.search(c.name)]
        if kind in ("merchant", "customer") and names:
            self.role(kind, name, names[0], f"the name column of {sql_name(table)}, joined on {via}")
        if kind == "terminal":
            label = names[0] if names else next(c for c in table.columns if c.name == table.primary_key[0])
            self.role("terminal", name, label, f"the {label.name} of {sql_name(table)}, joined on {via}")
            self.roles["terminal"]["synonyms"] = ["терминал", "terminal"]
        if kind == "card":
            pan = next((c for c in table.columns if PAN_COLUMN.match(c.name)), None)
            label = pan or next(c for c in table.columns if c.name == table.primary_key[0])
            self.role("card", name, label, f"the {label.name} of {sql_name(table)}, joined on {via}")
            holder = next((c for c in table.columns if NAME_COLUMN.search(c.name)), None)
            if holder is not None:
                self.role("customer", name, holder, f"the card holder's name in {sql_name(table)}")
        if kind == "city":  # a lookup of cities: the city of whatever refers to it
            ranked = sorted(table.columns, key=lambda c: not re.search(r"name_en|_en$", c.name, re.I))
            label = next((c for c in ranked if re.search(r"name|nazvanie|название", c.name, re.I)), None)
            owner = self.parent_kind.get(parent, "fact")
            role = "customer_city" if owner in ("customer", "card") else "city"
            if label is not None:
                self.role(role, name, label, f"the {label.name} of {sql_name(table)}, joined on {via}")
                other = [c.name for c in table.columns if c.name != label.name and re.search(r"name_", c.name)]
                if other and self.roles[role].get("dimension", "").endswith(label.name):
                    self.roles[role]["also"] = other  # a second spelling, shown beside it (name_ru, name_en)
        if kind == "currency":
            code = next((c for c in table.columns if re.search(r"alpha|bukv|iso|code|kod", c.name, re.I)
                         and c.type.startswith(("char", "character(3)", "varchar", "text"))), None)  # fmt: skip
            if code is not None:
                self.role("currency", name, code, f"the letter code of {sql_name(table)}")
        if kind == "status" and len(table.primary_key) == 1:
            self._status_lookup(table, name)
        self.parent_kind[name] = kind or self.parent_kind.get(parent, "joined")
        self._columns(table, name, where=self.parent_kind[name])

    def _status_lookup(self, table: Table, name: str) -> None:
        key = next(c for c in table.columns if c.name == table.primary_key[0])
        labels = _labels(self.engine, table, key.name)
        values = {}
        for code, label in sorted(labels.items(), key=lambda kv: str(kv[0])):
            means = meaning("status", label)
            values[code] = {"means": means} if means else {}
            if means:
                self.note(f"status value {code} ({label}) read as {means}")
        if labels:
            self.status_codes = (name, key.name, values)

    def _columns(self, table: Table, name: str, where: str) -> None:
        """Roles named by the columns themselves: channel, status, card brand, currency, city, segment, MCC."""
        keys = set(table.primary_key)
        for column in table.columns:
            if column.name in keys or is_personal(column.name, column.comment):
                continue
            for role, names, comments in COLUMN_ROLES:
                target = self._target(role, where)
                if target is None or target in self.roles:
                    continue
                if re.search(names, column.name, re.I) or (
                    column.comment
                    and re.search(comments, column.comment, re.I)
                    and kind_of(column) == "text"
                    and role != "mcc_code"
                ):
                    self._column_role(target, name, table, column)
                    break

    @staticmethod
    def _target(role: str, where: str) -> str | None:
        """The role a column is, by the table it is in: a customer's city is customer_city."""
        if role == "city":
            cities = {"customer": "customer_city", "card": "customer_city", "fact": "city", "terminal": "city"}
            return {**cities, "merchant": "city"}.get(where)
        if role == "segment":
            return "segment" if where in ("customer", "card", "fact") else None
        if role == "category" and where not in ("category", "merchant", "fact"):
            return None
        return role

    def _column_role(self, role: str, name: str, table: Table, column: Column) -> None:
        if role == "status" and kind_of(column) == "number" and getattr(self, "status_codes", None):
            return self._coded_status(name, column)
        if role == "currency" and kind_of(column) == "number":
            return  # a numeric ISO code: the letter code of its lookup table is the currency
        values: dict = {}
        if role in MEANINGS:
            for value in column.values:
                means = meaning(role, str(value))
                values[_typed(value, column)] = {"means": means} if means else {}
                self.note(
                    f"{role} value {value!r} " + (f"read as {means}" if means else "not understood: add its means")
                )
        self.role(
            role,
            name,
            column,
            f"column {column.name}" + (f", comment {column.comment!r}" if column.comment else ""),
            values,
        )

    def _coded_status(self, name: str, column: Column) -> None:
        _, _, values = self.status_codes
        self.role("status", name, column, f"codes of {self.status_codes[0]}", values)


def _typed(value: object, column: Column) -> object:
    if kind_of(column) == "number" and re.fullmatch(r"-?\d+", str(value)):
        return int(value)
    return value


def draft(schema: Schema, *, engine: Engine | None = None, database: str | None = None) -> Draft:
    """The semantic model of ``schema``, drafted; with ``engine``, small lookup tables are read for labels."""
    result = _Drafter(schema, engine, database).build()
    if result.document.get("payments"):
        result.model = from_document(result.document, source="the drafted semantic model")
    return result


def merge(edited: dict, drafted: dict, exists: Callable[[str], bool] | None = None) -> dict:
    """``paysql init --update``: the analyst's edits win; what the new draft adds is added."""
    if isinstance(edited, dict) and isinstance(drafted, dict):
        merged = dict(drafted)
        for key, value in edited.items():
            merged[key] = merge(value, drafted[key], exists) if key in drafted else value
        return merged
    if (
        isinstance(edited, list)
        and isinstance(drafted, list)
        and all(isinstance(x, dict) and "name" in x for x in edited + drafted)
    ):
        by_name = {x["name"]: x for x in drafted}
        out = [merge(x, by_name.pop(x["name"]), exists) if x["name"] in by_name else x for x in edited]
        return out + list(by_name.values())
    return edited
