"""The brief's exports for dashboards and BI tools: one answer to CSV, several answers to one Excel file.

    python examples/export.py                      # the brief's CSV files and the Excel report, in this folder
    python examples/export.py csv QUESTION FILE    # one answer to a CSV file
    python examples/export.py excel                # only the Excel report (analytics_report_YYYYMMDD.xlsx)
    python examples/export.py job QUESTION FILE    # a long answer as a job: FILE.csv, .xlsx or .parquet

``job`` posts the question to ``POST /api/jobs`` (the server needs ``PAYSQL_REDIS_URL`` and a ``paysql worker``),
waits as ``Retry-After`` says, and saves the rows in the format of FILE's extension, typed as the database gave them.

``PAYSQL_API_URL`` is the server of ``paysql serve`` (default http://localhost:3000); ``PAYSQL_API_KEY``, when
set, is sent as ``X-API-Key``. Dates arrive as ISO strings and are written as such.
"""

import csv
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import requests

BASE_URL = os.environ.get("PAYSQL_API_URL", "http://localhost:3000")
API_URL = BASE_URL + "/api/query"
HEADERS = {"X-API-Key": os.environ["PAYSQL_API_KEY"]} if os.environ.get("PAYSQL_API_KEY") else {}


def query(question):
    response = requests.post(API_URL, json={"question": question}, headers=HEADERS, timeout=60)
    response.raise_for_status()
    return response.json()


def export_to_csv(question, filename):
    data = query(question)["data"]

    if data:
        with open(filename, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=data[0].keys())
            writer.writeheader()
            writer.writerows(data)
        print(f"✅ Данные экспортированы в {filename}")


def export_for_bi():
    """Экспорт данных для BI систем"""
    queries = [
        "Транзакции по категориям MCC за последний месяц",
        "Топ 20 мерчантов по объему транзакций",
        "Транзакции по валютам",
        "Дневной объем транзакций за последние 90 дней",
    ]

    all_data = []
    for question in queries:
        df = pd.DataFrame(query(question)["data"])
        df["question"] = question
        df["report_date"] = datetime.now()
        all_data.append(df)

    # Объединяем все данные
    combined_df = pd.concat(all_data, ignore_index=True)

    # Сохраняем в Excel для Power BI
    filename = f"analytics_report_{datetime.now().strftime('%Y%m%d')}.xlsx"
    combined_df.to_excel(filename, index=False)
    print(f"✅ Отчет экспортирован для BI системы: {filename}")


def export_as_job(question, filename, wait_s=600):
    """Долгий запрос как задание: POST /api/jobs, ждём готовности, сохраняем файл."""
    fmt = Path(filename).suffix.lstrip(".")
    response = requests.post(f"{BASE_URL}/api/jobs", json={"question": question}, headers=HEADERS, timeout=30)
    response.raise_for_status()
    job_url = BASE_URL + response.json()["url"]
    deadline = time.monotonic() + wait_s
    while True:
        response = requests.get(job_url, params={"format": fmt}, headers=HEADERS, timeout=30)
        if response.status_code != 202:
            break
        if time.monotonic() > deadline:
            sys.exit(f"❌ задание {job_url} не готово за {wait_s} с")
        time.sleep(float(response.headers.get("Retry-After", 2)))
    if response.status_code != 200:
        sys.exit(f"❌ {response.json()['error']}: {response.json()['detail']}")
    Path(filename).write_bytes(response.content)
    print(f"✅ Данные экспортированы в {filename}")


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["csv", question, filename]:
            export_to_csv(question, filename)
        case ["excel"]:
            export_for_bi()
        case ["job", question, filename]:
            export_as_job(question, filename)
        case []:
            # Экспорт различных отчетов
            export_to_csv("Топ 10 мерчантов по объему", "top_merchants.csv")
            export_to_csv("Транзакции по категориям MCC", "categories.csv")
            export_to_csv("Дневной объем за последние 30 дней", "daily_volume.csv")
            export_for_bi()
        case _:
            sys.exit(__doc__)
