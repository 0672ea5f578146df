"""The offline provider: a small semantic parser that writes SQL for common payment questions, no LLM needed."""

from __future__ import annotations

from functools import cache

from paysql_magic.errors import Declined
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.offline.builder import to_sql
from paysql_magic.providers.offline.parser import Parser

HELP = """\
The offline provider understands questions built from:
  measures: number of transactions, volume/оборот (SUM amount_kzt), average amount/средний чек, largest or
    smallest payment, unique customers or merchants, share/доля of a status, channel, currency, card type, city,
    segment or category, number of merchants or customers (new ones too), daily averages;
  breakdowns: by merchant, MCC category or code, city (merchant's or customer's), currency, channel, card type,
    status, customer segment, customer; hourly/daily/weekly/monthly series;
  time windows: today, yesterday, last N days/weeks/months, last week/month, this week/month/year, a named
    month («в октябре»), a day range («с 1 по 15 ноября»);
  filters: status (успешные/отклоненные/отмененные), channel (POS/ECOM/ATM), currency, card type, city, segment,
    MCC category, merchant brand, amounts in KZT («свыше 500 000 тенге», "between 10k and 50k");
  rankings: top N by volume or count («топ 5», "top ten", «самый крупный», "which city has the most ...").
Examples: «Топ 10 мерчантов по объему транзакций за последние 7 дней»; "Share of declined transactions by
channel this month".
For any other question use a language model: set GEMINI_API_KEY and run %config Ask.provider = "gemini", or
start Ollama (OLLAMA_HOST) and run %config Ask.provider = "ollama"."""


@cache
def _parser() -> Parser:
    """One parser per process, built on first use (it loads pymorphy3's dictionaries and compiles the lexicon)."""
    return Parser()


class OfflineProvider:
    """Writes SQL from the question alone (``prompt.question``); declines what it cannot parse."""

    name = "offline"
    remote = False
    model = "offline-parser-1"

    def generate(self, prompt: Prompt) -> str:
        """The SQL for the question; raises Declined, saying what it understands, when it cannot parse it."""
        try:
            intent = _parser().parse(prompt.question)
        except Declined as error:
            raise Declined(f"The offline provider cannot answer this question: {error}.\n{HELP}") from None
        return to_sql(intent)
