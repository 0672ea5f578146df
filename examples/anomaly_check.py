"""The brief's anomaly monitor: today's transactions against yesterday's, an alert past a 20% change.

    python examples/anomaly_check.py          # every 5 minutes, until Ctrl-C
    python examples/anomaly_check.py --once   # one check (for cron); exit 1 when it found an anomaly

``PAYSQL_API_URL`` is the server of ``paysql serve`` (default http://localhost:3000); ``PAYSQL_API_KEY``, when
set, is sent as ``X-API-Key``. "Today" is the day so far, so early in the day the change is large by nature.
"""

import os
import sys
import time

import requests

API_URL = os.environ.get("PAYSQL_API_URL", "http://localhost:3000") + "/api/query"
HEADERS = {"X-API-Key": os.environ["PAYSQL_API_KEY"]} if os.environ.get("PAYSQL_API_KEY") else {}


def ask(question):
    response = requests.post(API_URL, json={"question": question}, headers=HEADERS, timeout=30)
    response.raise_for_status()
    return response.json()["data"][0]["total_transactions"]


def check_anomalies():
    """Проверка аномалий в транзакциях; True when one was found."""
    # Сравниваем сегодня с вчера
    today = ask("Сколько транзакций было сегодня?")
    yesterday = ask("Сколько транзакций было вчера?")

    change = ((today - yesterday) / yesterday * 100) if yesterday > 0 else 0
    print(f"{time.strftime('%Y-%m-%d %H:%M')} сегодня: {today}, вчера: {yesterday}, изменение: {change:.1f}%")

    if abs(change) > 20:  # Изменение больше 20%
        print("⚠️  АНОМАЛИЯ обнаружена!")
        print(f"   Сегодня: {today}")
        print(f"   Вчера: {yesterday}")
        print(f"   Изменение: {change:.1f}%")
        # Отправить уведомление (email, Slack, Telegram и т.д.)
        return True
    return False


if __name__ == "__main__":
    if "--once" in sys.argv[1:]:
        sys.exit(1 if check_anomalies() else 0)
    # Запускать каждые 5 минут
    while True:
        check_anomalies()
        time.sleep(300)  # 5 минут
