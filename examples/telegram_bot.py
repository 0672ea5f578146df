"""The brief's Telegram bot: every text message is a question for ``POST /api/query``; the reply is the SQL,
the row count, the timing and the first 10 rows.

Run it (not in CI: it needs the network and a bot token from @BotFather):

    pip install python-telegram-bot requests
    paysql serve --demo                       # in another terminal
    TELEGRAM_BOT_TOKEN=123:ABC python examples/telegram_bot.py

``PAYSQL_API_URL`` is the server of ``paysql serve`` (default http://localhost:3000); ``PAYSQL_API_KEY``, when
set, is sent as ``X-API-Key`` (create one with ``paysql keys create telegram-bot``: the audit log then names the
bot as the user of every question it relays).

Changes from the brief: the reply is HTML with every value escaped (the brief's Markdown breaks on the first
``_`` or ``*`` in a column name or value, e.g. ``total_volume``), the blocking HTTP call runs in a thread so the
bot keeps answering others, an API error shows its one-line ``detail``, and the reply stays under Telegram's
4,096-character limit.
"""

import asyncio
import html
import os

import requests
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, MessageHandler, filters

API_URL = os.environ.get("PAYSQL_API_URL", "http://localhost:3000") + "/api/query"
HEADERS = {"X-API-Key": os.environ["PAYSQL_API_KEY"]} if os.environ.get("PAYSQL_API_KEY") else {}
TELEGRAM_LIMIT = 4096


def ask(question):
    response = requests.post(API_URL, json={"question": question}, headers=HEADERS, timeout=30)
    body = response.json()
    if response.status_code != 200:
        raise RuntimeError(body.get("detail") or body.get("error") or f"HTTP {response.status_code}")
    return body


def format_answer(data):
    """Форматируем ответ: SQL, число записей, время и первые 10 строк, как HTML для Telegram."""
    text = "📊 Результат:\n\n"
    text += f"SQL:\n<pre>{html.escape(data['sql'], quote=False)}</pre>\n\n"
    text += f"Найдено записей: {data['row_count']}\n"
    text += f"Время выполнения: {data['execution_time_ms']}ms\n\n"
    if data["data"]:
        text += "Данные:\n"
        for i, row in enumerate(data["data"][:10], 1):
            line = f"{i}. {html.escape(str(row), quote=False)}\n"
            if len(text) + len(line) > TELEGRAM_LIMIT:
                break
            text += line
    return text


async def handle_message(update: Update, context: ContextTypes.DEFAULT_TYPE):
    question = update.message.text
    try:
        data = await asyncio.to_thread(ask, question)
        await update.message.reply_text(format_answer(data), parse_mode=ParseMode.HTML)
    except Exception as e:
        await update.message.reply_text(f"❌ Ошибка: {e}")


def main():
    app = Application.builder().token(os.environ["TELEGRAM_BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handle_message))
    app.run_polling()


if __name__ == "__main__":
    main()
