"""Names in the other alphabet: Kazakh and Russian names in Latin letters and back, for matching a city or a
merchant however it is spelled, and for SQL aliases of Cyrillic table names."""

from __future__ import annotations

_LETTERS = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya a g k n o u u h i"
_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі", _LETTERS.split(" "), strict=True))
_CYRILLIC = (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("yu", "ю"),
             ("ya", "я"), ("yo", "ё"))  # fmt: skip
_PAIRS = "a а b б c к d д e е f ф g г h х i и j ж k к l л m м n н o о p п q к r р s с t т u у v в w в x кс y ы z з"
_CYRILLIC_LETTERS = dict(zip(_PAIRS.split()[::2], _PAIRS.split()[1::2], strict=True))


def latin(text: str) -> str:
    """A Cyrillic name in Latin letters, as Kazakh and Russian names are usually written ("Шымкент" -> "shymkent")."""
    return "".join(_LATIN.get(ch, ch) for ch in text.lower()).replace("-", "")


def cyrillic(text: str) -> str:
    """A Latin name in Cyrillic letters ("Shymkent" -> "шымкент"; "y" after a vowel is "й": "Semey" -> "семей")."""
    out, word, i = [], text.lower(), 0
    while i < len(word):
        pair = next(((latin_, cyr) for latin_, cyr in _CYRILLIC if word.startswith(latin_, i)), None)
        if pair is not None:
            out.append(pair[1])
            i += len(pair[0])
            continue
        ch = word[i]
        if ch == "y" and i > 0 and word[i - 1] in "aeiou":
            out.append("й")
        else:
            out.append(_CYRILLIC_LETTERS.get(ch, ch))
        i += 1
    return "".join(out)
