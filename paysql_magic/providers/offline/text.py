"""Question text -> tokens: words with their lemmas (pymorphy3 for Russian, Snowball for English) and numbers.

Numbers are recognised in every usual spelling: digits with spaces or commas between thousands ("500 000",
"1,500,000"), decimals ("1,5 млн"), suffixes and scale words ("100k", "1M", "2 млн", "5 тысяч", "a million"),
and number words in both languages ("десять", "двадцать пять", "five", "twenty one").
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import snowballstemmer

if TYPE_CHECKING:
    import pymorphy3

_TOKEN = re.compile(
    r"(?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,]\d)|\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:[.,]\d+)?)"
    r"(?:st|nd|rd|th|-?(?:й|ый|ой|ий|го|му|м)\b)?"
    r"|(?<=\w')s\b"  # the "s" of "month's": nothing of its own
    r"|(?P<word>[a-zа-яё]+)"
    r"|(?P<dash>[-–—])"
    r"|(?P<symbol>[₸$€₽%<>=]+)"
)

_UNITS = {
    "ноль": 0, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8,
    "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
    "восемьдесят": 80, "девяносто": 90, "сто": 100, "двести": 200, "триста": 300, "четыреста": 400,
    "пятьсот": 500, "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
    "полтора": 1.5, "полторы": 1.5, "полутора": 1.5,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {
    "k": 1e3, "тыс": 1e3, "тысяча": 1e3, "thousand": 1e3, "hundred": 1e2,
    "m": 1e6, "mln": 1e6, "млн": 1e6, "миллион": 1e6, "million": 1e6, "mio": 1e6,
    "млрд": 1e9, "миллиард": 1e9, "billion": 1e9, "bn": 1e9,
}  # fmt: skip
_STANDALONE_SCALES = {"тысяча", "thousand", "миллион", "million", "миллиард", "billion", "hundred"}
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps the word being stemmed in itself: one word at a time
# Letters that look alike in both alphabets (lower case): a word typed with both is read in the alphabet of its
# other letters ("Астaна" with a Latin "a").
_LOOKALIKES = "aа bв cс eе hн kк mм oо pр tт xх yу"
_TO_CYRILLIC = str.maketrans({pair[0]: pair[1] for pair in _LOOKALIKES.split()})
_TO_LATIN = str.maketrans({pair[1]: pair[0] for pair in _LOOKALIKES.split()})
# Parts of speech that carry no measure, breakdown or filter when the lexicon does not know the word.
_NEUTRAL_POS = {"VERB", "INFN", "PRTF", "PRTS", "GRND", "ADVB", "PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED"}
_NEUTRAL_SUFFIXES = ("ed", "ing", "ly")  # English verb forms and adverbs


@dataclass(frozen=True)
class Token:
    """One word, number or symbol of the question."""

    text: str  # lower-case surface form
    keys: frozenset[str] = frozenset()  # the surface form plus every lemma (Russian) or the stem (English)
    lemma: str = ""  # the most likely lemma (Russian) or the stem (English)
    number: float | None = None
    pos: str | None = None  # pymorphy3's part of speech (Russian words only)
    plural: bool = False
    neutral: bool = False  # a verb, adverb, pronoun...: safe to ignore when the lexicon does not know it

    @property
    def is_number(self) -> bool:
        return self.number is not None


@cache
def morph() -> pymorphy3.MorphAnalyzer:
    """pymorphy3's analyser, loaded on first use."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=20_000)
def word_token(word: str) -> Token:
    """The token for one lower-case word, with every lemma pymorphy3 proposes (or the English stem)."""
    if re.fullmatch(r"[a-z]+", word):
        with _STEMMER_LOCK:
            stem = _STEMMER.stemWord(word)
        neutral = word.endswith(_NEUTRAL_SUFFIXES)
        plural = word.endswith("s") and not word.endswith(("ss", "us", "is"))  # "cities", not "status"
        return Token(word, frozenset({word, stem}), stem, plural=plural, neutral=neutral)
    parses = morph().parse(word)
    keys = frozenset({word, *(p.normal_form for p in parses)})
    tag = parses[0].tag
    neutral = tag.POS in _NEUTRAL_POS or "Apro" in tag
    plural = any(p.tag.number == "plur" for p in parses)  # "категории": genitive singular or plural
    return Token(word, keys, parses[0].normal_form, pos=tag.POS, plural=plural, neutral=neutral)


def _one_alphabet(word: str) -> str:
    """A word of mixed Latin and Cyrillic letters in one alphabet, when its look-alike letters allow it."""
    if not (re.search(r"[a-z]", word) and re.search(r"[а-яё]", word)):
        return word
    for table in (_TO_CYRILLIC, _TO_LATIN):
        if re.fullmatch(r"[a-z]+|[а-яё]+", spelled := word.translate(table)):
            return spelled
    return word


def _number_value(text: str) -> float:
    compact = re.sub(r"[ \u00a0\u202f]", "", text)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", compact):
        compact = compact.replace(",", "")
    return float(compact.replace(",", "."))


def _word_number(token: Token) -> float | None:
    return next((float(_UNITS[k]) for k in token.keys if k in _UNITS), None)


def _scale(token: Token) -> float | None:
    return next((_SCALES[k] for k in token.keys if k in _SCALES), None)


def _adds_up(previous: Token, value: float) -> bool:
    """Whether a number word continues the number before it: "двадцать" + "пять", "сто" + "двадцать"."""
    if not previous.text.isalpha():
        return False
    tens = 20 <= previous.number < 100 and previous.number % 10 == 0 and value < 10
    return tens or (previous.number % 100 == 0 and previous.number < 1000 and value < 100)


def _merge_numbers(tokens: list[Token]) -> list[Token]:
    """Joins number words ("двадцать пять") and scales ("1,5 млн", "100k", "a million") into one number."""
    out: list[Token] = []
    for token in tokens:
        value = token.number if token.is_number else _word_number(token)
        scale = None if token.is_number else _scale(token)
        previous = out[-1] if out and out[-1].is_number else None
        if value is not None and previous and not token.is_number and _adds_up(previous, value):
            out[-1] = Token(f"{previous.text} {token.text}", number=previous.number + value)  # двадцать пять
        elif value is not None:
            out.append(Token(token.text, number=value))
        elif scale is not None and previous is not None:
            out[-1] = Token(f"{previous.text} {token.text}", number=previous.number * scale)
        elif scale is not None and token.keys & _STANDALONE_SCALES:
            out.append(Token(token.text, number=scale))
        else:
            out.append(token)
    return out


def tokenize(question: str) -> list[Token]:
    """Lower-cases the question and splits it into word, number and symbol tokens.

    A dash survives only between two numbers ("1-15 ноября"), where it means "to"; elsewhere it joins words
    ("Алма-Ата", "топ-5") and is dropped.
    """
    matches = list(_TOKEN.finditer(question.lower().replace("ё", "е")))
    tokens: list[Token] = []
    for i, match in enumerate(matches):
        if match["number"]:
            tokens.append(Token(match["number"], number=_number_value(match["number"])))
        elif match["word"]:
            tokens.append(word_token(_one_alphabet(match["word"])))
        elif match["symbol"]:
            tokens.append(Token(match["symbol"], frozenset({match["symbol"]}), match["symbol"]))
        elif 0 < i < len(matches) - 1 and matches[i - 1]["number"] and matches[i + 1]["number"]:
            tokens.append(Token("-", frozenset({"-"}), "-"))
    return _merge_numbers(tokens)
