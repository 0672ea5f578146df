"""The business conventions a language model is told, rendered from the semantic model: its amount and unit, its
time column, what its statuses mean, where a city is, how its tables join. A model is never told about columns
the database does not have; with no semantic model, the conventions name no column at all."""

from __future__ import annotations

from collections.abc import Callable

from paysql_magic.semantic.model import STATUS_MEANINGS, Role, SemanticModel

Shows = Callable[[str, str], bool]  # (table, column) -> whether its values may be named in the prompt

_RU = {"approved": "успешные", "declined": "отклоненные", "reversed": "отмененные / возвраты"}
_ROLE_WORDS = {
    "merchant": "merchant / мерчант",
    "customer": "customer / клиент",
    "card": "card / карта",
    "terminal": "terminal / терминал",
    "category": "category / категория",
    "mcc_code": "MCC code",
    "city": "city / город (where the payment happened)",
    "customer_city": "customer's city / город клиента",
    "segment": "segment / сегмент",
    "currency": "currency / валюта",
    "channel": "channel / канал",
    "card_brand": "card brand, payment system / платежная система",
    "card_type": "card type / тип карты",
    "status": "status / статус",
}


def _column(model: SemanticModel, role: Role) -> str:
    return f"{model.relation(role.relation).table}.{role.column}"


def _amount(model: SemanticModel) -> str:
    if model.amount is None:
        return "the amount"
    return model.amount if model.divisor == 1 else f"{model.amount} / {model.divisor}.0"


def _shown(model: SemanticModel, role: Role, shows: Shows) -> bool:
    return shows(model.relation(role.relation).table.split(".")[-1], role.column)


def _status_rule(model: SemanticModel, statuses: str | None, shows: Shows) -> str:
    counted = ("approved",) if statuses == "approved" else () if statuses == "all" else model.turnover_statuses
    role = model.role("status")
    meanings = ""
    if role is not None and _shown(model, role, shows):
        parts = []
        for meaning in STATUS_MEANINGS:
            values = [repr(v.value) for v in role.values if v.means == meaning]
            if values:
                parts.append(f"{meaning} = {_RU[meaning]}: {role.column} IN ({', '.join(values)})")
        meanings = "\n  (" + "; ".join(parts) + ")" if parts else ""
    if not counted:
        return f"- Counts and volumes include EVERY status and channel unless the question names one.{meanings}"
    only = " and ".join(counted)
    return f"- Counts and volumes include only {only} rows unless the question names another status.{meanings}"


def _dimensions(model: SemanticModel, shows: Shows) -> list[str]:
    lines = []
    for name, role in model.roles.items():
        words = _ROLE_WORDS.get(name, name.replace("_", " "))
        keyed = f" (group by {role.key} and the name)" if name in ("merchant", "customer") and role.key else ""
        meant = [v for v in role.values if v.means and name != "status"] if _shown(model, role, shows) else []
        values = [f"{v.value!r} = {v.means.replace('_', ' ')}" for v in meant]
        listed = f"; values: {', '.join(values)}" if values else ""
        lines.append(f"  * {words} = {_column(model, role)}{keyed}{listed}")
    return lines


def _joins(model: SemanticModel) -> list[str]:
    return [
        f"  * {model.relation(e.parent).table}.{e.left} = {model.relation(e.child).table}.{e.right}"
        for e in model.edges
    ]


def glossary(model: SemanticModel | None, statuses: str | None = None, shows: Shows = lambda t, c: True) -> str:
    """The conventions for ``model`` (None: generic ones); ``statuses`` (all | approved) overrides its rule;
    ``shows`` says which columns' values may be named (the sample policy, ``Ask.sample_values``)."""
    if model is None:
        return GENERIC
    time, amount, fact = model.time, _amount(model), model.fact.table
    unit = f" ({model.amount} is in minor units: divide by {model.divisor} for tenge)" if model.divisor != 1 else ""
    lines = [
        f"- Payments are the rows of {fact}. volume / объем / оборот = SUM({amount}) in tenge{unit}; "
        f"average amount / средний чек = AVG({amount}).",
        _status_rule(model, statuses, shows),
        "  Words like покупки, платежи, операции, purchases, payments mean these rows and add no filter.",
        f'- Amount thresholds compare {amount} (tenge); "between" is inclusive.',
        "- Periods are calendar days in the database time zone.",
        f"  today = {time} >= current_date AND {time} < current_date + 1; yesterday likewise.",
        f"- last N days = the N calendar days ending today: {time} >= current_date - (N - 1);",
        "  last week = last 7 days; last month = last 30 days; this month = since date_trunc('month', current_date).",
        "- Dimensions (column = meaning):",
        *_dimensions(model, shows),
    ]
    if model.edges:
        lines += ["- Joins:", *_joins(model)]
    lines += [
        '- "transactions by X" = per X: COUNT(*) AS total_transactions and SUM(...) AS total_volume.',
        f"- Series: day = {time}::date, week = date_trunc('week', {time})::date,",
        f"  month = date_trunc('month', {time})::date, hour = extract(hour from {time}).",
        "- A share is a percentage rounded to 2 decimals.",
        "- Column aliases: total_transactions, total_volume, avg_amount, day, week, month.",
    ]
    return "\n".join(lines)


def unit_hint(model: SemanticModel | None) -> str:
    """What a repair prompt says about units: "amount is in tiyn: divide by 100"."""
    if model is None or model.divisor == 1 or model.amount is None:
        return ""
    return f"\nUnits: {model.amount} is in minor units (tiyn): divide by {model.divisor} for tenge."


GENERIC = """\
- volume / объем / оборот = the sum of the payment amount in tenge; average amount / средний чек = its average.
- Counts and volumes include EVERY status and channel unless the question names one
  (approved = успешные, declined = отклоненные, reversed = отмененные / возвраты).
- Periods are calendar days in the database time zone: today = time >= current_date AND time < current_date + 1.
- "city" means where the payment happened (the merchant's or terminal's city) unless the question speaks of customers.
- "transactions by X" = per X: COUNT(*) AS total_transactions and the sum of the amount AS total_volume.
- A share is a percentage rounded to 2 decimals."""
