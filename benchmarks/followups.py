"""Follow-up phrasings the offline provider handles, Russian and English, run on the demo database.

    .venv/bin/python benchmarks/followups.py [--data-dir DIR]

Each follow-up is asked after its base question (as the magic does: ``previous`` is the base's answer) and run;
a line shows the follow-up, whether it was answered, its rows, and the SQL's WHERE / GROUP BY / LIMIT, so the
change it applied can be read off. Prints the number handled at the end.
"""

from __future__ import annotations

import argparse
import re

from paysql_magic import core
from paysql_magic.connection import engine_for
from paysql_magic.demo import default_data_dir, start_demo
from paysql_magic.errors import PaysqlError
from paysql_magic.followup import Previous

THREADS = {
    "Топ 5 мерчантов по объему за последние 7 дней": [
        "а теперь только по Алматы", "только отклоненные", "а за вчера?", "топ 3", "а теперь по каналам",
        "по городам вместо этого", "только ECOM", "а в Астане?", "то же самое, но за прошлый месяц",
        "и только Visa", "а в USD?", "без ATM",
    ],
    "Объем транзакций по дням за последние 30 дней": [
        "а теперь по неделям", "по месяцам", "только успешные", "а теперь средний чек", "и количество транзакций",
    ],
    "How many transactions were there yesterday?": [
        "now only declined", "by channel instead", "same for last week", "what about Almaty?", "and now by hour",
        "only ECOM", "excluding ATM", "now the average amount",
    ],
    "Top 10 merchants by volume this month": [
        "now only in Astana", "top 3", "same for last month", "by city instead", "only approved",
    ],
}  # fmt: skip


def _shape(sql: str) -> str:
    flat = " ".join(sql.split())
    parts = [m.group(0) for m in re.finditer(r"(WHERE|GROUP BY|LIMIT) .*?(?= GROUP BY| ORDER BY| LIMIT|$)", flat)]
    columns = [name for name in re.findall(r" AS (\w+)", flat.split(" FROM ")[0])]
    return " | ".join([f"SELECT {', '.join(columns)}", *parts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="Demo data directory (default: the user data dir).")
    args = parser.parse_args()
    engine = engine_for(start_demo(args.data_dir or default_data_dir()).reader_url)
    handled = total = 0
    for base, followups in THREADS.items():
        first = core.ask(base, engine, source="eval")
        print(f"\n{base}\n    {_shape(first.sql)}")
        previous = Previous((base,), first.sql, first.call_id)
        for followup in followups:
            total += 1
            try:
                result = core.ask(followup, engine, previous=previous, source="eval")
            except PaysqlError as exc:
                print(f"  - {followup}: NOT HANDLED ({str(exc).splitlines()[0]})")
                continue
            handled += 1
            print(f"  + {followup}: {result.row_count} rows\n    {_shape(result.sql)}")
    print(f"\nfollow-ups handled by the offline provider: {handled}/{total}")


if __name__ == "__main__":
    main()
