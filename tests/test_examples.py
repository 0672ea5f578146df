"""The brief's clients in ``examples/``, run unchanged against a real ``paysql serve --demo --workers 2`` on
loopback, their output checked against direct SQL on the same database; and a load of 200 requests."""

from __future__ import annotations

import ast
import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
import requests
from serving import paysql_serve, paysql_worker
from sqlalchemy import Engine, text

from paysql_magic.demo import DemoDatabase

pytestmark = pytest.mark.usefixtures("forget_what_this_module_cached")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TODAY = "transaction_ts >= current_date AND transaction_ts < current_date + 1"
VOLUME_BY_CATEGORY = """
    SELECT c.mcc_category, sum(t.amount_kzt) AS volume
    FROM transactions AS t JOIN merchants AS m USING (merchant_id) JOIN mcc_codes AS c USING (mcc_code)
    {where} GROUP BY 1 ORDER BY 2 DESC"""
VOLUME_BY_MERCHANT = """
    SELECT m.merchant_name, sum(t.amount_kzt) AS volume
    FROM transactions AS t JOIN merchants AS m USING (merchant_id)
    GROUP BY m.merchant_id, m.merchant_name ORDER BY 2 DESC LIMIT {limit}"""
DAILY_VOLUME = """
    SELECT transaction_ts::date AS day, sum(amount_kzt) AS volume FROM transactions
    WHERE transaction_ts >= current_date - {back} GROUP BY 1 ORDER BY 1"""


@pytest.fixture(scope="module")
def server(demo: DemoDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``paysql serve`` as a subprocess: the parent attaches to the session's demo database, two workers."""
    target = ["--demo", "--data-dir", str(demo.data_dir)] if demo.data_dir else ["--database-url", demo.reader_url]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with paysql_serve(*target, "--workers", "2", "--rate-limit", "100000/minute", log=log) as url:
        yield url, log


@pytest.fixture(scope="module")
def jobs_server(
    demo: DemoDatabase, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """``paysql serve`` with jobs: Redis (its own database) and one ``paysql worker``."""
    jobs_url = redis_url.rsplit("/", 1)[0] + "/8"
    directory = tmp_path_factory.mktemp("jobs-serve")
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as patch:  # what the two processes start with, not the other tests
            patch.setenv("PAYSQL_REDIS_URL", jobs_url)
            patch.setenv("PAYSQL_DATABASE_URL", demo.reader_url)
            stack.enter_context(paysql_worker(redis_url=jobs_url, log=directory / "worker.log"))
            url = stack.enter_context(paysql_serve("--rate-limit", "100000/minute", log=directory / "serve.log"))
        yield url, directory / "serve.log"


def run(server: tuple[str, Path], *command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAYSQL_API_URL": server[0]}
    env.pop("PAYSQL_API_KEY", None)
    return subprocess.run(
        [str(c) for c in command], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_serve_says_it_runs_open_and_starts_two_workers(server: tuple[str, Path]) -> None:
    deadline = time.monotonic() + 60  # /api/health answers once the first worker is up; the second may follow
    while (log := server[1].read_text()).count("Started server process") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)

    assert "running OPEN: loopback and no API keys" in log
    assert "in memory, per worker" in log
    assert log.count("Started server process") == 2


def test_daily_report_sh(server: tuple[str, Path], reader_engine: Engine) -> None:
    done = run(server, "bash", EXAMPLES / "daily_report.sh")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("📊 Ежедневный отчет - ")
    count = scalar(reader_engine, f"SELECT count(*) FROM transactions WHERE {TODAY}")
    volume = scalar(reader_engine, f"SELECT sum(amount_kzt) FROM transactions WHERE {TODAY}")
    assert f"Транзакций сегодня: {count}" in lines
    volume_line = next(line for line in lines if line.startswith("Объем сегодня: "))
    assert float(re.fullmatch(r"Объем сегодня: ([\d.]+) KZT", volume_line)[1]) == pytest.approx(float(volume))
    top = lines[lines.index("Топ 5 категорий сегодня:") + 1 :]
    expected = rows(reader_engine, VOLUME_BY_CATEGORY.format(where=f"WHERE t.{TODAY}") + " LIMIT 5")
    assert [line.rsplit(": ", 1)[0] for line in top] == [category for category, _ in expected]
    assert [float(line.rsplit(": ", 1)[1].removesuffix(" KZT")) for line in top] == pytest.approx(
        [float(v) for _, v in expected]
    )


def test_payment_analytics(server: tuple[str, Path], reader_engine: Engine) -> None:
    done = run(server, sys.executable, EXAMPLES / "payment_analytics.py")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    total = scalar(reader_engine, "SELECT count(*) FROM transactions")
    assert lines[0] == f"Всего транзакций: {total:,}"
    top = [ast.literal_eval(line.strip()) for line in lines[lines.index("Топ 5 мерчантов:") + 1 :][:5]]
    expected = rows(reader_engine, VOLUME_BY_MERCHANT.format(limit=5))
    assert [m["merchant_name"] for m in top] == [name for name, _ in expected]
    assert [m["total_volume"] for m in top] == pytest.approx([float(v) for _, v in expected])
    week = [ast.literal_eval(line.strip()) for line in lines[lines.index("Статистика за неделю:") + 1 :]]
    expected_week = rows(reader_engine, DAILY_VOLUME.format(back=6))
    assert [d["day"] for d in week] == [day.isoformat() for day, _ in expected_week]
    assert [d["total_volume"] for d in week] == pytest.approx([float(v) for _, v in expected_week])


def test_anomaly_check_once(server: tuple[str, Path], reader_engine: Engine) -> None:
    done = run(server, sys.executable, EXAMPLES / "anomaly_check.py", "--once")

    today = scalar(reader_engine, f"SELECT count(*) FROM transactions WHERE {TODAY}")
    yesterday = scalar(
        reader_engine,
        "SELECT count(*) FROM transactions WHERE transaction_ts >= current_date - 1 AND transaction_ts < current_date",
    )
    change = (today - yesterday) / yesterday * 100
    assert f"сегодня: {today}, вчера: {yesterday}, изменение: {change:.1f}%" in done.stdout, done.stderr
    anomaly = abs(change) > 20
    assert done.returncode == (1 if anomaly else 0)
    assert ("АНОМАЛИЯ обнаружена" in done.stdout) is anomaly


def test_export_a_long_answer_as_a_job(jobs_server: tuple[str, Path], reader_engine: Engine, tmp_path: Path) -> None:
    question = "Топ 20 мерчантов по объему транзакций"
    done = run(jobs_server, sys.executable, EXAMPLES / "export.py", "job", question, "top.xlsx", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    sheet = pd.read_excel(tmp_path / "top.xlsx")
    expected = rows(reader_engine, VOLUME_BY_MERCHANT.format(limit=20))
    assert sheet["merchant_name"].tolist() == [name for name, _ in expected]
    assert sheet["total_volume"].tolist() == pytest.approx([float(v) for _, v in expected])
    declined = run(jobs_server, sys.executable, EXAMPLES / "export.py", "job", "Какая погода?", "w.csv", cwd=tmp_path)
    assert declined.returncode == 1 and declined.stderr.startswith("❌ declined:")
    assert not (tmp_path / "w.csv").exists()


def test_export_csv_and_excel(server: tuple[str, Path], reader_engine: Engine, tmp_path: Path) -> None:
    done = run(server, sys.executable, EXAMPLES / "export.py", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    with (tmp_path / "top_merchants.csv").open(encoding="utf-8") as f:
        top = list(csv.DictReader(f))
    expected = rows(reader_engine, VOLUME_BY_MERCHANT.format(limit=10))
    assert [r["merchant_name"] for r in top] == [name for name, _ in expected]
    assert [float(r["total_volume"]) for r in top] == pytest.approx([float(v) for _, v in expected])
    with (tmp_path / "daily_volume.csv").open(encoding="utf-8") as f:
        daily = list(csv.DictReader(f))
    assert [r["day"] for r in daily] == [
        day.isoformat() for day, _ in rows(reader_engine, DAILY_VOLUME.format(back=29))
    ]
    with (tmp_path / "categories.csv").open(encoding="utf-8") as f:
        categories = {r["mcc_category"]: float(r["total_volume"]) for r in csv.DictReader(f)}
    assert categories == pytest.approx(
        {c: float(v) for c, v in rows(reader_engine, VOLUME_BY_CATEGORY.format(where=""))}
    )

    [report] = tmp_path.glob("analytics_report_*.xlsx")
    sheet = pd.read_excel(report)
    by_question = sheet.groupby("question").size().to_dict()
    currencies = rows(reader_engine, "SELECT currency, count(*) FROM transactions GROUP BY 1")
    assert by_question["Транзакции по валютам"] == len(currencies)
    assert by_question["Топ 20 мерчантов по объему транзакций"] == 20
    assert by_question["Дневной объем транзакций за последние 90 дней"] == len(
        rows(reader_engine, DAILY_VOLUME.format(back=89))
    )
    in_sheet = sheet[sheet["question"] == "Транзакции по валютам"].set_index("currency")["total_transactions"]
    assert in_sheet.to_dict() == dict(currencies)


LOAD_QUESTIONS = [
    "Сколько транзакций было сегодня?",
    "Топ 5 мерчантов по объему транзакций",
    "Транзакции по валютам",
    "Дневной объем транзакций за последние 7 дней",
]


def test_load_200_concurrent_requests_all_succeed_and_are_audited(
    server: tuple[str, Path], admin_engine: Engine
) -> None:
    url = server[0] + "/api/query"

    def one(i: int) -> tuple[int, str | None]:
        response = requests.post(url, json={"question": LOAD_QUESTIONS[i % len(LOAD_QUESTIONS)]}, timeout=60)
        return response.status_code, response.json().get("call_id")

    with ThreadPoolExecutor(max_workers=16) as pool:  # the figures: benchmarks/api_load.py
        results = list(pool.map(one, range(200)))

    assert [status for status, _ in results] == [200] * 200
    call_ids = [call_id for _, call_id in results]
    with admin_engine.connect() as conn:
        audited = conn.execute(
            text(
                "SELECT count(*) FROM paysql.query_audit_log "
                "WHERE call_id = ANY(CAST(:ids AS uuid[])) AND source = 'api'"
            ),
            {"ids": call_ids},
        ).scalar_one()
    assert audited == 200
