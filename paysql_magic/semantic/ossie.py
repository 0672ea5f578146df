"""``paysql.yaml`` -> an Apache Ossie semantic model (formerly Open Semantic Interchange, OSI), so the model can move
to dbt, Snowflake and the other tools with Ossie's own converters.

Follows Apache Ossie ``0.2.0.dev0``: ``core-spec/osi-schema.json`` and ``core-spec/spec.md`` of github.com/apache/ossie
at commit 88e0011148283302c9a04cd0287e00e0b9d87354 (main, 2026-07-31; the schema file last changed in 6c31730,
blob f24e45f). ``ossie.schema.json`` next to this module is that file, byte for byte (plain JSON, it has no comments).
0.2.0.dev0 rather than the 0.1.1 release because Ossie's converters on main (Snowflake, dbt, Databricks) write
0.2.0.dev0 and the Snowflake one refuses any other version.

The mapping:

    semantic_models           -> datasets (source: the table; ``database.schema.table`` once it is schema-qualified)
    entities, dimensions      -> fields (ANSI_SQL expressions, via sqlglot); primary_key, unique_keys from entities
    measure columns           -> fields without ``dimension`` (facts), so metrics can name them ``dataset.field``
    foreign -> primary entity -> relationships (from_columns / to_columns)
    measures                  -> metrics (``SUM(payments.amount)``; with ``unit: minor`` the amount's
                                 aggregates are divided by 100.0 into tenge)
    roles' synonyms           -> the dimension field's ``ai_context.synonyms``
    payments (and the rest)   -> ``custom_extensions`` under the vendor ``PAYSQL_MAGIC``: ``data`` is a JSON string

Ossie 0.2.0.dev0 makes ``vendor_name`` a free-form string ("allowing any vendor or organization to define custom
extensions"); ``COMMON`` is listed there for common/standard extensions, which ours are not, so they carry our name.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

import sqlglot
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from sqlglot import exp
from sqlglot.errors import SqlglotError

from paysql_magic.errors import ModelError
from paysql_magic.semantic.load import from_document

OSSIE_VERSION = "0.2.0.dev0"
VENDOR = "PAYSQL_MAGIC"
DIALECT = "ANSI_SQL"
SCHEMA_FILE = "ossie.schema.json"

_SIMPLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AGGREGATES = {
    "count": "COUNT({})",
    "count_distinct": "COUNT(DISTINCT {})",
    "sum": "SUM({})",
    "average": "AVG({})",
    "min": "MIN({})",
    "max": "MAX({})",
    "median": "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {})",  # ANSI SQL:2003; MEDIAN() is not ANSI
}
_KEY_TYPES = ("primary", "unique", "natural")  # what a foreign entity may join to, as in load.py


@cache
def schema() -> dict:
    """The vendored Ossie JSON Schema."""
    return json.loads(files("paysql_magic.semantic").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def to_ossie(document: dict) -> dict:
    """The Ossie document of a ``paysql.yaml`` document; raises ModelError when the document itself is invalid."""
    from_document(document)  # the model's own checks first: nothing is exported from a broken model
    return {"version": OSSIE_VERSION, "semantic_model": [_semantic_model(document)]}


def validate_ossie(ossie: dict, where: str = "the Ossie document") -> None:
    """Raise ModelError (one line) unless ``ossie`` is valid against the vendored schema, with unique names and
    relationships between known datasets (the checks of Ossie's own ``validation/validate.py``)."""
    error = best_match(Draft202012Validator(schema()).iter_errors(ossie))
    if error is not None:
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "root"
        raise ModelError(f"{where}: not a valid Ossie {OSSIE_VERSION} document at {at}: {_one_line(error.message)}")
    for model in ossie["semantic_model"]:
        problem = _name_problem(model)
        if problem:
            raise ModelError(f"{where}: not a valid Ossie {OSSIE_VERSION} document: {problem}")


def write_ossie(document: dict, path: Path) -> Path:
    """Write the Ossie document of ``document`` to ``path``: JSON for ``.json``, YAML otherwise (UTF-8, Russian
    unescaped). The output is validated against the vendored schema first; ModelError (one line) if it fails."""
    path = Path(path)
    ossie = to_ossie(document)
    validate_ossie(ossie, str(path))
    if path.suffix.lower() == ".json":
        text = json.dumps(ossie, ensure_ascii=False, indent=2) + "\n"
    else:
        header = f"# Apache Ossie {OSSIE_VERSION} semantic model, exported by paysql-magic from paysql.yaml.\n"
        text = header + yaml.safe_dump(ossie, sort_keys=False, allow_unicode=True, width=120)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{path}: cannot write the Ossie document: {exc.strerror or exc}") from None
    return path


# -- the semantic model ---------------------------------------------------------------------------------------------


def _semantic_model(document: dict) -> dict:
    models = document["semantic_models"]
    payments = document["payments"]
    datasets = [_dataset(m, document) for m in models]
    model = {"name": _model_name(document)}
    if document.get("name"):
        model["description"] = document["name"]
    model["ai_context"] = {"instructions": _instructions(document)}
    model["datasets"] = datasets
    relationships = _relationships(models)
    if relationships:
        model["relationships"] = relationships
    fields = {d["name"]: {f["name"]: f for f in d["fields"]} for d in datasets}
    metrics = [_metric(m, measure, payments, fields[m["name"]]) for m in models for measure in m.get("measures", [])]
    if metrics:
        model["metrics"] = metrics
    rest = {"format": "paysql-magic", "version": document["version"]}
    rest.update({k: document[k] for k in ("name", "database") if k in document})
    model["custom_extensions"] = _extension({**rest, "payments": payments})
    return model


def _model_name(document: dict) -> str:
    """An identifier for the model: its name, else the database's, else the fact's, in lower snake case."""
    for name in (document.get("name"), (document.get("database") or {}).get("name"), document["payments"]["fact"]):
        slug = re.sub(r"[^0-9a-z]+", "_", str(name or "").lower()).strip("_")
        if slug:
            return slug if not slug[0].isdigit() else f"m_{slug}"
    return "payments"


def _instructions(document: dict) -> str:
    """The payments rules in words for AI tools (the exact rules are in the extension)."""
    payments = document["payments"]
    fact = payments["fact"]
    model = next(m for m in document["semantic_models"] if m["name"] == fact)
    time = payments.get("time") or (model.get("defaults") or {}).get("agg_time_dimension")
    parts = [f"Each row of dataset {fact} is one payment; its time is {fact}.{time}."]
    if payments.get("amount"):
        unit = "stored in tiyn (minor units): divide by 100 for tenge" if payments.get("unit") == "minor" else "tenge"
        parts.append(f"The amount is {fact}.{payments['amount']}, in {unit}.")
    statuses = payments.get("turnover_statuses", "all")
    if statuses != "all":
        stored = _stored_values(payments, statuses)
        parts.append(
            f"Counts and turnover include only statuses meaning {', '.join(statuses) or 'none'}"
            + (f" ({stored})" if stored else "")
            + " unless the question names a status."
        )
    if payments.get("personal"):
        parts.append(f"Personal columns, never sampled nor sent to a cloud model: {', '.join(payments['personal'])}.")
    parts.append(f"Value meanings and the words analysts use for them are in the {VENDOR} custom extension.")
    return " ".join(parts)


def _stored_values(payments: dict, meanings: list[str]) -> str:
    """``payments.status IN ('A')``: where the stored values that carry ``meanings`` are."""
    found = []
    for role in payments.get("roles", {}).values():
        values = [v for v, entry in (role.get("values") or {}).items() if (entry or {}).get("means") in meanings]
        if values:
            found.append(f"{role['dimension']} IN ({', '.join(_literal(v) for v in values)})")
    return "; ".join(found)


# -- datasets and fields --------------------------------------------------------------------------------------------


def _dataset(model: dict, document: dict) -> dict:
    name = model["name"]
    dataset = {"name": name, "source": _source(model["model"], (document.get("database") or {}).get("name"))}
    keys = {t: [_entity_field(e)[0] for e in model["entities"] if e["type"] == t] for t in ("primary", "unique")}
    if keys["primary"]:
        dataset["primary_key"] = keys["primary"][:1]
    if keys["unique"]:
        dataset["unique_keys"] = [[k] for k in keys["unique"]]
    if model.get("description"):
        dataset["description"] = model["description"]
    dataset["fields"] = _fields(model, document["payments"])
    carried = {"model": model["model"], "entities": model["entities"]}
    if model.get("defaults"):
        carried["defaults"] = model["defaults"]
    dataset["custom_extensions"] = _extension(carried)
    return dataset


def _source(table: str, database: str | None) -> str:
    """The table as written, prefixed with the database once it is schema-qualified (Ossie's database.schema.table);
    a bare name stays bare: the search path that resolves it is not in the file."""
    try:
        parsed = exp.to_table(table, dialect="postgres")
    except SqlglotError:
        return table
    if database and parsed.db and not parsed.catalog:
        return f"{_identifier(database)}.{table}"
    return table


def _fields(model: dict, payments: dict) -> list[dict]:
    """Entity columns, then dimensions, then the columns measures aggregate, one field per name."""
    fields: dict[str, dict] = {}
    where = model["name"]
    for entity in model["entities"]:
        name, column = _entity_field(entity)
        field = _field(name, _ansi(column, f"{where}.{entity['name']}"), False, entity.get("description"))
        _add(fields, field, where)
    synonyms = _role_synonyms(model["name"], payments)
    for dimension in model.get("dimensions", []):
        _add(fields, _dimension_field(dimension, where, synonyms.get(dimension["name"])), where)
    for measure in model.get("measures", []):
        name, column = _measure_column(measure, fields, where)
        if name is not None and name not in fields:
            _add(fields, _field(name, column, None), where)
    _mark_personal(fields, model["name"], payments)
    return list(fields.values())


def _field(name: str, expression: str, is_time: bool | None, description: str | None = None) -> dict:
    field = {"name": name, "expression": _expression(expression)}
    if is_time is not None:
        field["dimension"] = {"is_time": is_time}
    if description:
        field["description"] = description
    return field


def _dimension_field(dimension: dict, where: str, synonyms: list[str] | None) -> dict:
    name = dimension["name"]
    expression = _ansi(dimension.get("expr") or name, f"{where}.{name}")
    field = _field(name, expression, dimension["type"] == "time", dimension.get("description"))
    if synonyms:
        field["ai_context"] = {"synonyms": synonyms}
    granularity = (dimension.get("type_params") or {}).get("time_granularity")
    if granularity:
        field["custom_extensions"] = _extension({"time_granularity": granularity})
    return field


def _add(fields: dict[str, dict], field: dict, where: str) -> None:
    """Add ``field``, or merge it into the field of that name when both mean the same expression."""
    existing = fields.get(field["name"])
    if existing is None:
        fields[field["name"]] = field
    elif _text(existing) != _text(field):
        raise ModelError(
            f"{where}: field {field['name']!r} would be both {_text(existing)!r} and {_text(field)!r} in Ossie; "
            "rename the dimension"
        )
    else:
        existing.update(field)


def _entity_field(entity: dict) -> tuple[str, str]:
    """(field name, column): named after its column when that is a plain identifier, else after the entity."""
    column = entity.get("expr") or entity["name"]
    return (column if _SIMPLE.fullmatch(column) else entity["name"]), column


def _measure_column(measure: dict, fields: dict[str, dict], where: str) -> tuple[str | None, str]:
    """The field a measure aggregates: its column, or a fact field named after the measure for an expression;
    (None, literal) for ``1`` or ``*``, which need no field."""
    column = measure.get("expr") or measure["name"]
    if column == "*" or re.fullmatch(r"\d+(\.\d+)?", column):
        return None, column
    simple = _SIMPLE.fullmatch(column) is not None
    name, expression = (column, column) if simple else (measure["name"], _ansi(column, f"{where}.{measure['name']}"))
    if name in fields and _text(fields[name]) != expression:
        name = f"{measure['name']}_expr"
    return name, expression


def _role_synonyms(model_name: str, payments: dict) -> dict[str, list[str]]:
    """dimension name -> the synonyms of the roles that name it."""
    found: dict[str, list[str]] = {}
    for role in payments.get("roles", {}).values():
        owner, dimension = role["dimension"].split(".")
        if owner == model_name:
            words = found.setdefault(dimension, [])
            words.extend(w for w in role.get("synonyms", ()) if w not in words)
    return {k: v for k, v in found.items() if v}


def _mark_personal(fields: dict[str, dict], model_name: str, payments: dict) -> None:
    """Personal columns carry ``{"personal": true}`` in their own extension too."""
    personal = {entry.split(".")[1] for entry in payments.get("personal", ()) if entry.split(".")[0] == model_name}
    for field in fields.values():
        if field["name"] in personal or _text(field) in personal:
            carried = json.loads(field["custom_extensions"][0]["data"]) if "custom_extensions" in field else {}
            field["custom_extensions"] = _extension({**carried, "personal": True})


# -- relationships and metrics --------------------------------------------------------------------------------------


def _relationships(models: list[dict]) -> list[dict]:
    """One relationship per foreign entity that joins another semantic model's key entity of the same name."""
    keys: dict[str, tuple[str, str]] = {}
    for model in models:
        for entity in model["entities"]:
            if entity["type"] in _KEY_TYPES:
                keys.setdefault(entity["name"], (model["name"], _entity_field(entity)[0]))
    relationships: list[dict] = []
    for model in models:
        for entity in model["entities"]:
            target = keys.get(entity["name"]) if entity["type"] == "foreign" else None
            if target is None or target[0] == model["name"]:
                continue
            name = f"{model['name']}_to_{target[0]}"
            if any(r["name"] == name for r in relationships):
                name = f"{model['name']}_{entity['name']}_to_{target[0]}"
            relationships.append(
                {
                    "name": name,
                    "from": model["name"],
                    "to": target[0],
                    "from_columns": [_entity_field(entity)[0]],
                    "to_columns": [target[1]],
                }
            )
    return relationships


def _metric(model: dict, measure: dict, payments: dict, fields: dict[str, dict]) -> dict:
    """``SUM(dataset.field)``; the fact's amount in minor units is divided by 100.0 (decimal, so no integer
    division truncates tiyn) outside the aggregate."""
    name, column = _measure_column(measure, fields, model["name"])
    argument = column if name is None else f"{_identifier(model['name'])}.{_identifier(name)}"
    expression = _AGGREGATES[measure["agg"]].format(argument)
    in_minor = (
        payments.get("unit") == "minor"
        and model["name"] == payments["fact"]
        and column == payments.get("amount")
        and measure["agg"] not in ("count", "count_distinct")
    )
    description = measure.get("description")
    if in_minor:
        expression = f"{expression} / 100.0"
        description = f"{description} (tenge; stored in tiyn)" if description else "In tenge (stored in tiyn)"
    metric = {"name": measure["name"], "expression": _expression(expression)}
    if description:
        metric["description"] = description
    if measure["agg"] in ("count", "count_distinct"):
        metric["datatype"] = "Integer"
    measure_spec = {k: v for k, v in measure.items() if k not in ("name", "description")}
    metric["custom_extensions"] = _extension({"semantic_model": model["name"], "measure": measure_spec})
    return metric


# -- small helpers --------------------------------------------------------------------------------------------------


def _expression(sql: str) -> dict:
    return {"dialects": [{"dialect": DIALECT, "expression": sql}]}


def _text(field: dict) -> str:
    return field["expression"]["dialects"][0]["expression"]


def _extension(data: dict) -> list[dict]:
    return [{"vendor_name": VENDOR, "data": json.dumps(data, ensure_ascii=False)}]


def _ansi(sql: str, where: str) -> str:
    """A PostgreSQL scalar expression of the model, written in sqlglot's ANSI SQL (``x::numeric`` -> CAST)."""
    try:
        statements = sqlglot.transpile(sql, read="postgres")
    except SqlglotError as exc:
        raise ModelError(f"{where}: expression {sql!r} cannot be read as SQL: {_one_line(str(exc))}") from None
    if len(statements) != 1:
        raise ModelError(f"{where}: expression {sql!r} is not one SQL expression")
    return statements[0]


def _identifier(name: str) -> str:
    return name if _SIMPLE.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int | float) else "'" + str(value).replace("'", "''") + "'"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


def _name_problem(model: dict) -> str | None:
    """The first duplicate name or unknown dataset in a relationship, as upstream's validator reports them."""
    datasets = [d["name"] for d in model["datasets"]]
    groups = [("dataset", datasets)]
    groups += [(f"field of {d['name']}", [f["name"] for f in d.get("fields", [])]) for d in model["datasets"]]
    groups += [("metric", [m["name"] for m in model.get("metrics", [])])]
    groups += [("relationship", [r["name"] for r in model.get("relationships", [])])]
    for kind, names in groups:
        duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if duplicate is not None:
            return f"two {kind} entries named {duplicate!r}"
    for relationship in model.get("relationships", []):
        for end in ("from", "to"):
            if relationship[end] not in datasets:
                return f"relationship {relationship['name']!r} names unknown dataset {relationship[end]!r}"
    return None
