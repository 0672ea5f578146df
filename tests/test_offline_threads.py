"""The offline provider answers from many threads at once (the HTTP API runs calls in a thread pool): the same SQL
as one thread gets, and no crash in the stemmer or the morphological analyser."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import snowballstemmer

from paysql_magic.demo import demo_model
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.offline.provider import OfflineProvider
from paysql_magic.providers.offline.text import word_token
from paysql_magic.schema import Schema

MODEL = demo_model()

QUESTIONS = Path(__file__).parent / "data" / "questions.jsonl"


def test_english_stems_from_eight_threads_match_one_thread():
    words = [
        "".join(letters) + end
        for letters in itertools.product("bcdfgklmnprst", repeat=3)
        for end in ("ings", "ational")
    ]
    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(word_token, words))
    stemmer = snowballstemmer.stemmer("english")
    assert [t.lemma for t in tokens] == [stemmer.stemWord(w) for w in words]


def test_offline_sql_from_eight_threads_matches_one_thread():
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    provider = OfflineProvider()

    def sql(question: str) -> str:
        try:
            return provider.generate(Prompt(question, Schema((), "Asia/Almaty"), "", model=MODEL))
        except Exception as exc:  # a decline is an answer too; it must be the same one
            return f"{type(exc).__name__}: {exc}"

    expected = [sql(q) for q in questions]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(sql, questions * 4)) == expected * 4
