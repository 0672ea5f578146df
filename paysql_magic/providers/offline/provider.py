"""The offline provider: a small semantic parser that writes SQL for common payment questions, no LLM needed."""

from __future__ import annotations

from functools import cached_property

from paysql_magic.errors import Declined
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.offline.builder import to_sql
from paysql_magic.providers.offline.parser import Parser

HELP = """\
The offline provider understands questions built from:
  measures: number of transactions, volume/оборот (SUM amount_kzt), average amount/средний чек, largest/smallest
    payment, unique customers or merchants, share/доля of a status, channel, currency, card type, city or
    category, number of merchants or customers;
  breakdowns: by merchant, MCC category, city, currency, channel, card type, status, customer segment, customer;
    daily/weekly/monthly/hourly series;
  time windows: today, yesterday, last N days/weeks/months, last week/month, this week/month/year, a named
    month («в октябре»), a day range («с 1 по 15 ноября»);
  filters: status (успешные/отклоненные/отмененные), channel (POS/ECOM/ATM), currency, card type, city, segment,
    MCC category, amounts in KZT («свыше 500 000 тенге», "between 10k and 50k");
  top N by volume or count («топ 5», "top ten", «самый крупный»).
Examples: «Топ 10 мерчантов по объему транзакций за последние 7 дней»; "Share of declined transactions by
channel this month".
For any other question use a language model: set GEMINI_API_KEY and run %config Ask.provider = "gemini", or
start Ollama (OLLAMA_HOST) and run %config Ask.provider = "ollama"."""


class OfflineProvider:
    """Writes SQL from the question alone (``prompt.question``); declines what it cannot parse."""

    name = "offline"
    model = "offline-parser-1"

    @cached_property
    def _parser(self) -> Parser:
        return Parser()

    def generate(self, prompt: Prompt) -> str:
        """The SQL for the question; raises Declined, saying what it understands, when it cannot parse it."""
        try:
            intent = self._parser.parse(prompt.question)
        except Declined as error:
            raise Declined(f"The offline provider cannot answer this question: {error}.\n{HELP}") from None
        return to_sql(intent)
