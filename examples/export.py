"""The brief's exports for dashboards and BI tools: one answer to CSV, several answers to one Excel file.

    python examples/export.py                      # the brief's CSV files and the Excel report, in this folder
    python examples/export.py csv QUESTION FILE    # one answer to a CSV file
    python examples/export.py excel                # only the Excel report (analytics_report_YYYYMMDD.xlsx)

``PAYSQL_API_URL`` is the server of ``paysql serve`` (default http://localhost:3000); ``PAYSQL_API_KEY``, when
set, is sent as ``X-API-Key``. Dates arrive as ISO strings and are written as such.
"""

import csv
import os
import sys
from datetime import datetime

import pandas as pd
import requests

API_URL = os.environ.get("PAYSQL_API_URL", "http://localhost:3000") + "/api/query"
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


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["csv", question, filename]:
            export_to_csv(question, filename)
        case ["excel"]:
            export_for_bi()
        case []:
            # Экспорт различных отчетов
            export_to_csv("Топ 10 мерчантов по объему", "top_merchants.csv")
            export_to_csv("Транзакции по категориям MCC", "categories.csv")
            export_to_csv("Дневной объем за последние 30 дней", "daily_volume.csv")
            export_for_bi()
        case _:
            sys.exit(__doc__)
