"""The prompt: the question, the schema as compact DDL, today's date and the business glossary."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from paysql_magic.providers.base import Prompt
from paysql_magic.schema import Schema

GLOSSARY = """\
- volume / объем / оборот = SUM(amount_kzt); average amount / средний чек = AVG(amount_kzt).
- Counts and volumes include every status and channel unless the question names one
  (approved = успешные, declined = отклоненные, reversed = отмененные / возвраты).
- Amount thresholds compare amount_kzt; "between" is inclusive.
- today = transaction_ts >= current_date AND transaction_ts < current_date + 1; yesterday likewise.
- last N days = the N calendar days ending today: transaction_ts >= current_date - (N - 1);
  last week = last 7 days; last month = last 30 days; this month = since date_trunc('month', current_date).
- "city" means the merchant's city unless the question speaks of customers.
- "transactions by X" = per X: COUNT(*) AS total_transactions and SUM(amount_kzt) AS total_volume.
- Series: day = transaction_ts::date, week = date_trunc('week', transaction_ts)::date,
  month = date_trunc('month', transaction_ts)::date, hour = extract(hour from transaction_ts).
- A share is a percentage rounded to 2 decimals.
- Column aliases: total_transactions, total_volume, avg_amount, merchant_name, mcc_category,
  day, week, month."""

INSTRUCTIONS = """\
You write PostgreSQL for payment analysts. Answer with exactly one read-only SELECT statement
(WITH ... SELECT allowed) in a ```sql fenced block, and nothing that changes data or settings.
Relative periods in the question become current_date-relative SQL, never date literals."""


def build_prompt(question: str, schema: Schema, *, now: datetime | None = None) -> Prompt:
    """Everything a provider needs to answer ``question`` against ``schema``."""
    today = (now or datetime.now(ZoneInfo(schema.timezone))).date()
    text = (
        f"{INSTRUCTIONS}\n\n"
        f"Today is {today.isoformat()} in the database time zone {schema.timezone}.\n\n"
        f"Business conventions:\n{GLOSSARY}\n\n"
        f"Schema:\n{schema.to_ddl()}\n\n"
        f"Question: {question}\n"
    )
    return Prompt(question=question, schema=schema, text=text)
