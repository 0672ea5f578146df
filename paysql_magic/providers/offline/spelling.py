"""Typo candidates among the lexicon's own words: "транзакцый", "мерчантв", "Almatty", "volme", "declnied".

Only a word that is no word of its language (pymorphy3's dictionary for Russian, pyspellchecker's for English)
and has at least five letters gets candidates: the lexicon words, in any inflected form, within one edit (two
for words of nine letters or more; a swap of two letters is one edit) and nearer than every other. The matcher
corrects the word only when all of them mean the same; otherwise the word stays unknown and the question is
declined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from paysql_magic.providers.offline.text import morph

MIN_LENGTH = 5  # shorter words are too easily mistaken for one another ("card", "cash", "день")
_LONG = 9  # from this length on, two edits are allowed
_CYRILLIC = re.compile(r"[а-яё]")


@cache
def _english() -> frozenset[str]:
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en").word_frequency.dictionary)


def is_word(word: str) -> bool:
    """Whether ``word`` (lower case) is a word of Russian or English, as opposed to a typo or a name."""
    if _CYRILLIC.search(word):
        return morph().word_is_known(word)
    return word in _english()


def _english_forms(word: str) -> set[str]:
    """The word and its plural: "merchant" -> "merchants", "city" -> "cities", "tax" -> "taxes"."""
    if re.search(r"[^aeiou]y$", word):
        return {word, word[:-1] + "ies"}
    return {word, word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")}


def _russian_forms(word: str) -> set[str]:
    """Every inflected form of the word's most likely lexeme ("мерчант" -> "мерчантов", "мерчантам", ...)."""
    parse = morph().parse(word)[0]
    return {word} | {form.word.replace("ё", "е") for form in parse.lexeme}


def _forms(word: str) -> set[str]:
    return _russian_forms(word) if _CYRILLIC.search(word) else _english_forms(word)


class Speller:
    """Finds the vocabulary words (in any inflected form) closest to a misspelt word."""

    def __init__(self, words: Iterable[str]) -> None:
        self._forms = sorted({form for word in words for form in _forms(word)})

    def closest(self, word: str) -> list[str]:
        """The forms nearest to ``word``, best first; none when it is short, a real word, or too far from all."""
        if len(word) < MIN_LENGTH or not word.isalpha() or is_word(word):
            return []
        limit = 1 if len(word) < _LONG else 2
        found = process.extract(word, self._forms, scorer=OSA.distance, score_cutoff=limit, limit=None)
        best = min((distance for _, distance, _ in found), default=None)
        closest = [form for form, distance, _ in found if distance == best]
        return sorted(closest, key=lambda form: (-fuzz.ratio(word, form), form))  # "мерчантв": "мерчантов" first
