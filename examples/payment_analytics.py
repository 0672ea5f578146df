"""The brief's automation script: a small client class over ``POST /api/query``.

    PAYSQL_API_URL=http://localhost:3000 python examples/payment_analytics.py

``PAYSQL_API_URL`` is the server of ``paysql serve`` (default http://localhost:3000); ``PAYSQL_API_KEY``, when
set, is sent as ``X-API-Key``.
"""

import os

import requests


class PaymentAnalytics:
    def __init__(self, base_url=None, api_key=None):
        self.base_url = base_url or os.environ.get("PAYSQL_API_URL", "http://localhost:3000")
        key = api_key or os.environ.get("PAYSQL_API_KEY")
        self.headers = {"X-API-Key": key} if key else {}

    def query(self, question):
        """Отправить вопрос к API"""
        response = requests.post(
            f"{self.base_url}/api/query", json={"question": question}, headers=self.headers, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def get_total_transactions(self):
        """Получить общее количество транзакций"""
        result = self.query("Сколько всего транзакций в базе?")
        return result["data"][0]["total_transactions"]

    def get_top_merchants(self, limit=10):
        """Получить топ мерчантов"""
        result = self.query(f"Топ {limit} мерчантов по объему транзакций")
        return result["data"]

    def get_daily_stats(self, days=7):
        """Получить статистику за последние N дней"""
        result = self.query(f"Дневной объем транзакций за последние {days} дней")
        return result["data"]


if __name__ == "__main__":
    analytics = PaymentAnalytics()

    # Общее количество транзакций
    total = analytics.get_total_transactions()
    print(f"Всего транзакций: {total:,}")

    # Топ мерчантов
    top_merchants = analytics.get_top_merchants(5)
    print("\nТоп 5 мерчантов:")
    for merchant in top_merchants:
        print(f"  {merchant}")

    # Статистика за неделю
    weekly_stats = analytics.get_daily_stats(7)
    print("\nСтатистика за неделю:")
    for day in weekly_stats:
        print(f"  {day}")
