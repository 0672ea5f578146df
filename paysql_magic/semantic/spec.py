"""The JSON Schema of ``paysql.yaml``: dbt's semantic models (entities, dimensions, measures) as the base, and one
``payments`` section of its own for what only payments need (the fact table, the amount and its unit, the status
meanings, the words analysts use for dimensions and values, personal columns).

Strict like the standards it follows: unknown keys are errors, so a typo never passes as an option nobody reads.
"""

from __future__ import annotations

VERSION = 1
MEANINGS = {  # standard meanings a value can carry, by the role it belongs to
    "status": ("approved", "declined", "reversed"),
    "channel": ("card_present", "online", "web", "app", "atm", "qr"),  # web and app are online
}

_NAME = {"type": "string", "pattern": r"^[^\s.][^.]*$", "minLength": 1}
_WORDS = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
_DESCRIPTION = {"type": "string"}

_ENTITY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": _NAME,
        "type": {"enum": ["primary", "foreign", "unique", "natural"]},
        "expr": {"type": "string", "minLength": 1},
        "description": _DESCRIPTION,
    },
}
_DIMENSION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "type"],
    "properties": {
        "name": _NAME,
        "type": {"enum": ["categorical", "time"]},
        "expr": {"type": "string", "minLength": 1},
        "description": _DESCRIPTION,
        "type_params": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"time_granularity": {"enum": ["second", "minute", "hour", "day"]}},
        },
    },
}
_MEASURE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "agg"],
    "properties": {
        "name": _NAME,
        "agg": {"enum": ["count", "sum", "average", "min", "max", "count_distinct", "median"]},
        "expr": {"type": "string", "minLength": 1},
        "description": _DESCRIPTION,
    },
}
_SEMANTIC_MODEL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "model", "entities"],
    "properties": {
        "name": _NAME,
        "model": {"type": "string", "minLength": 1, "description": "the table or view, schema-qualified or not"},
        "description": _DESCRIPTION,
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"agg_time_dimension": _NAME},
        },
        "entities": {"type": "array", "items": _ENTITY, "minItems": 1},
        "dimensions": {"type": "array", "items": _DIMENSION},
        "measures": {"type": "array", "items": _MEASURE},
    },
}
_VALUE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"means": {"type": "string"}, "synonyms": _WORDS, "description": _DESCRIPTION},
}
_ROLE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["dimension"],
    "properties": {
        "dimension": {"type": "string", "pattern": r"^[^.]+\.[^.]+$", "description": "semantic_model.dimension"},
        "synonyms": _WORDS,
        "values": {"type": "object", "additionalProperties": _VALUE},
        "brands": {"type": "object", "additionalProperties": _VALUE, "description": "name prefixes: every outlet"},
        "also": {**_WORDS, "description": "columns of the same table shown beside it (a name in another language)"},
        "description": _DESCRIPTION,
    },
}
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "paysql-magic semantic model",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "semantic_models"],
    "properties": {
        "version": {"const": VERSION},
        "name": {"type": "string"},
        "database": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "identity": {"type": "string", "description": "the database's system identifier and name"},
            },
        },
        "semantic_models": {"type": "array", "items": _SEMANTIC_MODEL},
        "payments": {
            "type": "object",
            "additionalProperties": False,
            "required": ["fact"],
            "properties": {
                "fact": {**_NAME, "description": "the semantic model whose rows are payments"},
                "time": {**_NAME, "description": "its time dimension (default: agg_time_dimension)"},
                "amount": {**_NAME, "description": "the column of the amount in its unit"},
                "unit": {"enum": ["tenge", "minor"], "description": "minor: tiyn, divided by 100 for tenge"},
                "turnover_statuses": {
                    "anyOf": [{"const": "all"}, {"type": "array", "items": {"enum": list(MEANINGS["status"])}}],
                    "description": "which status meanings counts and turnover include unless a question names one",
                },
                "roles": {"type": "object", "additionalProperties": _ROLE},
                "personal": {
                    "type": "array",
                    "items": {"type": "string", "pattern": r"^[^.]+\.[^.]+$"},
                    "description": "semantic_model.column entries never sampled nor sent to a cloud model",
                },
            },
        },
    },
}
