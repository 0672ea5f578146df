"""The words of one database: the language of ``lexicon.py`` joined with its semantic model.

The model's own words come first (a company's "терминал" wins over the language's), then its values (a city in
its own spelling and transliterated, a category, a merchant name or brand, each with the synonyms the model gives),
then the language. A language word for something the model does not have (a segment, a status meaning) becomes an
``absent`` concept, so a question that names it is declined with that word instead of answered without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from paysql_magic.providers.offline.lexicon import ENTRIES, Concept
from paysql_magic.semantic.model import Role, SemanticModel
from paysql_magic.semantic.translit import cyrillic, latin

Entry = tuple[str, Concept]
_ALWAYS = {"transaction"}  # entities every model has: its fact rows
_UNITS = {"currency"}  # currency words are also the unit of an amount ("в тенге"): kept without a currency role
# Words whose role a model may keep in another: a card's brand in a "card type" column, a card named by its brand.
_FALLBACKS = {"card_brand": ("card_type",), "card_type": ("card_brand",), "card": ("card_brand", "card_type"),
              "payment_method": ("channel",)}  # fmt: skip
_BROADER = {"web": "online", "app": "online"}  # a web payment is an online one where the model tells no web apart


def _spelled(value: object) -> str:
    """A stored value as a phrase of the question: lower case, punctuation as spaces ("Arbuz.kz" -> "arbuz kz")."""
    return " ".join(re.sub(r"[^\w\s-]+", " ", str(value).lower()).replace("|", " ").split())


def _phrases(value: object, synonyms: tuple[str, ...]) -> list[str]:
    """The spellings of a value: as stored, in the other alphabet, and the model's synonyms."""
    spelled = _spelled(value)
    other = cyrillic(spelled) if re.search("[a-z]", spelled) else latin(spelled)
    return list(dict.fromkeys(p for p in (spelled, other, *map(_spelled, synonyms)) if p))


def _values(role: Role, sampled: tuple[object, ...]) -> list[tuple[object, tuple[str, ...]]]:
    listed = {v.value: v.synonyms for v in role.values}
    for value in sampled:
        listed.setdefault(value, ())
    return list(listed.items())


def _model_entries(model: SemanticModel, sampled: Mapping[str, tuple[object, ...]], known: set[str]) -> Iterator[Entry]:
    for role in model.roles.values():
        if role.synonyms:
            yield "|".join(map(_spelled, role.synonyms)), Concept("entity", role.name)
        field = "city" if role.name == "customer_city" and "city" in model.roles else role.name  # resolve.py decides
        for value, synonyms in _values(role, sampled.get(role.name, ())):
            if isinstance(value, int | float) and not synonyms:
                continue  # a number in a question is a number (a top N, an amount), never a status code
            phrases = [p for p in _phrases(value, synonyms) if p not in known and not p.isdigit()]
            if phrases:
                yield "|".join(phrases), Concept("value", (field, value))
        for brand in role.brands:
            phrases = [p for p in _phrases(brand.value, brand.synonyms) if p not in known]
            if phrases:
                yield "|".join(phrases), Concept("value", ("brand", brand.value))


def _role_for(field: str, model: SemanticModel) -> str | None:
    """The model's role for a language role: itself, or the one it falls back to."""
    return next((name for name in (field, *_FALLBACKS.get(field, ())) if name in model.roles), None)


def _retarget(concept: Concept, model: SemanticModel, sampled: Mapping[str, tuple[object, ...]]) -> Concept:
    """A language concept as this model has it: its role moved to a fallback, or ``absent`` when it has none."""
    if concept.kind == "entity":
        if concept.value in _ALWAYS:
            return concept
        role = _role_for(str(concept.value), model)
        return Concept("entity", role) if role else Concept("absent", concept)
    if concept.kind != "value":
        return concept
    field, token = concept.value
    name = _role_for(field, model)
    if name is None:
        return concept if field in _UNITS else Concept("absent", concept)
    role = model.roles[name]
    stored = {v.value for v in role.values} | set(sampled.get(name, ()))
    if stored and not role.means(token) and token not in stored:
        broader = _BROADER.get(str(token))
        if broader is not None and role.means(broader):
            return Concept("value", (name, broader))
        return Concept("absent", concept)
    return Concept("value", (name, token))


def entries(model: SemanticModel, sampled: Mapping[str, tuple[object, ...]] | None = None) -> tuple[Entry, ...]:
    """Every phrase the parser knows for ``model``; ``sampled`` holds stored values per role read from the
    database (its low-cardinality columns, its merchant names)."""
    sampled = sampled or {}
    known = {alternative for alternatives, _ in ENTRIES for alternative in alternatives.split("|")}
    language = tuple((alternatives, _retarget(concept, model, sampled)) for alternatives, concept in ENTRIES)
    return (*_model_entries(model, sampled, known), *language)
