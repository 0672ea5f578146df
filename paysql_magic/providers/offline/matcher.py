"""Tokens -> items: the longest lexicon phrase at each position becomes one concept; numbers stay numbers.

A phrase word matches a token when the token's surface form or one of its lemmas equals the phrase word's
surface form or most likely lemma. Among phrases of equal length, the closest match wins ("больше" is a
comparison, "большой" a superlative); then the earlier lexicon entry. A word the lexicon does not know is first
read as the lexicon word it is a typo of, when there is exactly one such meaning (spelling.py); an unknown word
is ignorable (neutral) only when it is a real verb, adverb...: a typo never is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from paysql_magic.providers.offline.lexicon import Concept
from paysql_magic.providers.offline.spelling import Speller, is_word
from paysql_magic.providers.offline.text import Token, tokenize, word_token


@dataclass(frozen=True)
class Item:
    """A concept found in the question, with the words it came from."""

    concept: Concept
    text: str
    plural: bool = False
    neutral: bool = False  # for unknown words: a verb, adverb... that may be ignored
    after_pay: bool = False  # right after a verb of paying ("paid in", «прошло не в»): a place is where it happened
    after_flow: bool = False  # right after a verb of money flowing ("comes from", «приходится на»): the part
    after_all: bool = False  # right after "all" / «все»: "all channels" names no filter and no breakdown

    @property
    def kind(self) -> str:
        return self.concept.kind

    @property
    def value(self) -> object:
        return self.concept.value


@dataclass(frozen=True)
class _Phrase:
    words: tuple[Token, ...]
    concept: Concept
    rank: int  # position in the lexicon


class Matcher:
    """The compiled vocabulary (``vocabulary.entries``): phrases indexed by the keys of their first word."""

    def __init__(self, entries: Sequence[tuple[str, Concept]]) -> None:
        self._index: dict[str, list[_Phrase]] = defaultdict(list)
        self._words: set[str] = set()  # every phrase word, as written and as its lemma or stem
        self._spellings: set[str] = set()  # every phrase word as written: what typos are corrected to
        for rank, (alternatives, concept) in enumerate(entries):
            for alternative in alternatives.split("|"):
                words = tokenize(alternative) or [Token(alternative, frozenset({alternative}), alternative)]  # "-"
                phrase = _Phrase(tuple(words), concept, rank)
                for key in {phrase.words[0].text, phrase.words[0].lemma}:
                    self._index[key].append(phrase)
                self._words.update(k for w in words if not w.is_number for k in (w.text, w.lemma))
                self._spellings.update(w.text for w in words if w.text.isalpha())

    @cached_property
    def _speller(self) -> Speller:
        """Built on the first unknown word: the lexicon's words with all their forms."""
        return Speller(self._spellings)

    def _spelled(self, token: Token) -> Token:
        """The token, or the lexicon word it is a typo of ("транзакцый" -> "транзакций") when every closest
        candidate means the same; ambiguous typos stay unknown."""
        if token.is_number or token.keys & self._words or not token.text.isalpha():
            return token
        candidates = [word_token(form) for form in self._speller.closest(token.text)]
        return candidates[0] if len({self._meaning(c) for c in candidates}) == 1 else token

    def _meaning(self, token: Token) -> object:
        """What a single word means on its own: its concept, or (a word of longer phrases only) its lemma."""
        phrase = self._best([token], 0)
        return phrase.concept if phrase is not None else token.lemma

    def items(self, question: str) -> list[Item]:
        """The question as a sequence of concepts: lexicon phrases, numbers and unknown words."""
        tokens = [self._spelled(token) for token in tokenize(question)]
        items: list[Item] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.is_number:
                items.append(Item(Concept("number", token.number), token.text))
                i += 1
                continue
            phrase = self._best(tokens, i)
            if phrase is None:
                neutral = token.neutral and is_word(token.text)  # not a typo: "declnied" is no verb to ignore
                items.append(Item(Concept("unknown", token.text), token.text, neutral=neutral))
                i += 1
                continue
            span = tokens[i : i + len(phrase.words)]
            head = next((t for t in span if t.pos not in ("ADJF", "PRTF")), span[-1])  # "торговых точек", "тип карты"
            text = " ".join(t.text for t in span)
            items.append(Item(phrase.concept, text, plural=head.plural))
            i += len(span)
        return items

    def _best(self, tokens: list[Token], i: int) -> _Phrase | None:
        best, best_score = None, None
        candidates = {id(p): p for key in tokens[i].keys for p in self._index.get(key, ())}
        for phrase in candidates.values():
            closeness = _match(phrase, tokens, i)
            if closeness is None:
                continue
            score = (len(phrase.words), closeness, -phrase.rank)
            if best_score is None or score > best_score:
                best, best_score = phrase, score
        return best


def _match(phrase: _Phrase, tokens: list[Token], i: int) -> int | None:
    """How closely the phrase matches at ``i`` (None: not at all).

    Per word: 3 for the same surface form, 2 when the phrase word is one of the token's lemmas ("months" ->
    "month"), 1 when only the phrase word's own lemma or stem is ("months" ~ "monthly" through the stem "month").
    """
    if i + len(phrase.words) > len(tokens):
        return None
    score = 0
    for word, token in zip(phrase.words, tokens[i:], strict=False):
        if token.is_number or word.is_number:  # "Tele2"
            if token.number != word.number:
                return None
            score += 3
        elif word.text == token.text:
            score += 3
        elif word.text in token.keys:
            score += 2
        elif word.lemma in token.keys:
            score += 1
        else:
            return None
    return score
