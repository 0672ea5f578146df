"""The Apache Ossie export of the semantic model (``paysql_magic.semantic.ossie``): valid against the vendored
Ossie schema, with the datasets, relationships and metrics the model means. No database needed."""

from __future__ import annotations

import copy
import importlib.resources
import json
from pathlib import Path

import pytest
import sqlglot
import yaml
from jsonschema import Draft202012Validator

from paysql_magic.errors import ModelError
from paysql_magic.semantic.ossie import OSSIE_VERSION, VENDOR, schema, to_ossie, validate_ossie, write_ossie

DEMO = Path(__file__).resolve().parents[1] / "paysql_magic" / "demo" / "paysql.yaml"

PROCESSING = """
version: 1
name: Процессинг Алматы
database:
  name: processing
semantic_models:
- name: payments
  model: billing.payments
  description: Платежи по картам, одна строка на авторизацию.
  defaults:
    agg_time_dimension: paid_at
  entities:
  - {name: payment, type: primary, expr: payment_id}
  - {name: terminal, type: foreign, expr: terminal_id}
  dimensions:
  - {name: paid_at, type: time, type_params: {time_granularity: second}, description: Время платежа}
  - {name: status, type: categorical, description: Статус авторизации}
  - {name: paid_day, type: time, expr: "paid_at::date", type_params: {time_granularity: day}}
  measures:
  - {name: payment_count, agg: count, expr: payment_id, description: Число платежей}
  - {name: turnover, agg: sum, expr: amount_tiyn, description: Оборот}
  - {name: average_check, agg: average, expr: amount_tiyn, description: Средний чек}
  - {name: payers, agg: count_distinct, expr: card_hash}
- name: terminals
  model: billing.terminals
  description: Терминалы, одна строка на терминал.
  entities:
  - {name: terminal, type: primary, expr: terminal_id}
  - {name: merchant, type: foreign, expr: merchant_id}
  dimensions:
  - {name: terminal_city, type: categorical, expr: city, description: Город установки терминала}
- name: merchants
  model: billing.merchants
  description: Торговые точки.
  entities:
  - {name: merchant, type: primary, expr: id}
  dimensions:
  - {name: merchant_name, type: categorical, expr: name, description: Название точки}
  - {name: owner_name, type: categorical}
payments:
  fact: payments
  time: paid_at
  amount: amount_tiyn
  unit: minor
  turnover_statuses: [approved]
  roles:
    merchant:
      dimension: merchants.merchant_name
      synonyms: [мерчант, магазин, торговая точка]
    city:
      dimension: terminals.terminal_city
      synonyms: [город]
      values:
        Алматы: {synonyms: [алма-ата, almaty]}
    status:
      dimension: payments.status
      values:
        A: {means: approved, synonyms: [успешный, одобренный]}
        D: {means: declined, synonyms: [отказ]}
  personal: [merchants.owner_name]
"""


@pytest.fixture
def demo() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


@pytest.fixture
def processing() -> dict:
    return yaml.safe_load(PROCESSING)


def _model(ossie: dict) -> dict:
    assert ossie["version"] == OSSIE_VERSION
    (model,) = ossie["semantic_model"]
    return model


def _datasets(ossie: dict) -> dict[str, dict]:
    return {d["name"]: d for d in _model(ossie)["datasets"]}


def _fields(dataset: dict) -> dict[str, dict]:
    return {f["name"]: f for f in dataset["fields"]}


def _sql(item: dict) -> str:
    (dialect,) = item["expression"]["dialects"]
    assert dialect["dialect"] == "ANSI_SQL"
    return dialect["expression"]


def _metrics(ossie: dict) -> dict[str, str]:
    return {m["name"]: _sql(m) for m in _model(ossie)["metrics"]}


def _relationships(ossie: dict) -> set[tuple]:
    return {
        (r["from"], tuple(r["from_columns"]), r["to"], tuple(r["to_columns"]))
        for r in _model(ossie).get("relationships", [])
    }


def _extension(item: dict) -> dict:
    (extension,) = item["custom_extensions"]
    assert extension["vendor_name"] == VENDOR
    return json.loads(extension["data"])


def _assert_valid(ossie: dict) -> None:
    """Accepted by the vendored schema (the draft it declares), and every expression parses as ANSI SQL."""
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    errors = [e.message for e in Draft202012Validator(schema()).iter_errors(ossie)]
    assert errors == []
    validate_ossie(ossie)
    model = _model(ossie)
    for item in [f for d in model["datasets"] for f in d.get("fields", [])] + model.get("metrics", []):
        sqlglot.parse_one(_sql(item))  # raises on an expression ANSI SQL cannot read


def test_vendored_schema_is_packaged_and_strict():
    resource = importlib.resources.files("paysql_magic.semantic").joinpath("ossie.schema.json")
    assert resource.is_file()
    vendored = json.loads(resource.read_text(encoding="utf-8"))
    assert vendored["properties"]["version"]["const"] == OSSIE_VERSION
    assert vendored["additionalProperties"] is False
    assert vendored["$defs"]["CustomExtension"]["properties"]["data"]["type"] == "string"


def test_demo_model_exports_a_valid_document(demo):
    ossie = to_ossie(demo)
    _assert_valid(ossie)
    datasets = _datasets(ossie)
    assert list(datasets) == ["transactions", "merchants", "mcc_codes", "customers"]
    assert datasets["transactions"]["source"] == "transactions"  # bare: the search path resolves it
    assert datasets["transactions"]["primary_key"] == ["transaction_id"]
    assert datasets["mcc_codes"]["primary_key"] == ["mcc_code"]
    assert _relationships(ossie) == {
        ("transactions", ("customer_id",), "customers", ("customer_id",)),
        ("transactions", ("merchant_id",), "merchants", ("merchant_id",)),
        ("merchants", ("mcc_code",), "mcc_codes", ("mcc_code",)),
    }
    assert _metrics(ossie) == {
        "total_transactions": "COUNT(transactions.transaction_id)",
        "total_volume": "SUM(transactions.amount_kzt)",  # unit: tenge, no division
        "avg_amount": "AVG(transactions.amount_kzt)",
    }
    transactions = _fields(datasets["transactions"])
    assert transactions["transaction_ts"]["dimension"] == {"is_time": True}
    assert transactions["status"]["dimension"] == {"is_time": False}
    assert "dimension" not in transactions["amount_kzt"]  # a fact: what the metrics aggregate
    merchants = _fields(datasets["merchants"])
    assert merchants["mcc_code"]["dimension"] == {"is_time": False}  # the foreign key and the dimension: one field
    assert _extension(_fields(datasets["customers"])["full_name"]) == {"personal": True}


def test_demo_payments_section_travels_as_a_json_string(demo):
    model = _model(to_ossie(demo))
    (extension,) = model["custom_extensions"]
    assert extension["vendor_name"] == VENDOR and isinstance(extension["data"], str)
    carried = json.loads(extension["data"])
    assert carried["payments"] == demo["payments"]
    assert carried["database"] == demo["database"] and carried["name"] == demo["name"]
    assert "turnover" not in model["ai_context"]["instructions"]  # turnover_statuses: all, no rule to state
    assert "customers.full_name" in model["ai_context"]["instructions"]


def test_processing_model_with_schema_minor_units_and_a_join_chain(processing):
    ossie = to_ossie(processing)
    _assert_valid(ossie)
    model = _model(ossie)
    assert model["name"] == "processing"  # the Russian name has no identifier; the database's name is used
    assert model["description"] == "Процессинг Алматы"
    datasets = _datasets(ossie)
    assert datasets["payments"]["source"] == "processing.billing.payments"
    assert datasets["merchants"]["source"] == "processing.billing.merchants"
    assert datasets["payments"]["description"] == "Платежи по картам, одна строка на авторизацию."
    assert datasets["merchants"]["primary_key"] == ["id"]
    assert _relationships(ossie) == {
        ("payments", ("terminal_id",), "terminals", ("terminal_id",)),
        ("terminals", ("merchant_id",), "merchants", ("id",)),
    }
    metrics = _metrics(ossie)
    assert metrics["turnover"] == "SUM(payments.amount_tiyn) / 100.0"
    assert metrics["average_check"] == "AVG(payments.amount_tiyn) / 100.0"
    assert metrics["payment_count"] == "COUNT(payments.payment_id)"  # a count is not divided
    assert metrics["payers"] == "COUNT(DISTINCT payments.card_hash)"
    turnover = next(m for m in model["metrics"] if m["name"] == "turnover")
    assert turnover["description"].startswith("Оборот")
    assert _extension(turnover) == {"semantic_model": "payments", "measure": {"agg": "sum", "expr": "amount_tiyn"}}


def test_processing_fields_carry_russian_descriptions_and_synonyms(processing):
    datasets = _datasets(to_ossie(processing))
    payments = _fields(datasets["payments"])
    assert payments["paid_at"]["description"] == "Время платежа"
    assert _extension(payments["paid_at"]) == {"time_granularity": "second"}
    assert _sql(payments["paid_day"]) == "CAST(paid_at AS DATE)"  # PostgreSQL's :: written as ANSI SQL
    terminals = _fields(datasets["terminals"])
    assert _sql(terminals["terminal_city"]) == "city"
    assert terminals["terminal_city"]["ai_context"] == {"synonyms": ["город"]}
    merchants = _fields(datasets["merchants"])
    assert merchants["merchant_name"]["ai_context"] == {"synonyms": ["мерчант", "магазин", "торговая точка"]}
    assert _extension(merchants["owner_name"]) == {"personal": True}


def test_processing_payments_section_and_turnover_rule(processing):
    model = _model(to_ossie(processing))
    carried = json.loads(model["custom_extensions"][0]["data"])
    assert carried["payments"] == processing["payments"]
    assert carried["payments"]["roles"]["status"]["values"]["A"] == {
        "means": "approved",
        "synonyms": ["успешный", "одобренный"],
    }
    instructions = model["ai_context"]["instructions"]
    assert "payments.status IN ('A')" in instructions
    assert "tiyn" in instructions


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_write_round_trip(processing, tmp_path, suffix):
    path = write_ossie(processing, tmp_path / f"processing.ossie{suffix}")
    assert path == tmp_path / f"processing.ossie{suffix}"
    text = path.read_text(encoding="utf-8")
    assert "Платежи по картам" in text and "\\u04" not in text  # Russian written as is, in the data strings too
    assert "мерчант" in text
    loaded = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    assert loaded == to_ossie(processing)
    _assert_valid(loaded)
    if suffix == ".json":
        assert text.lstrip().startswith("{")
    else:
        assert text.startswith("# Apache Ossie")


def test_write_demo_as_yaml(demo, tmp_path):
    path = write_ossie(demo, tmp_path / "demo.ossie.yml")
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert loaded == to_ossie(demo)
    assert json.loads(loaded["semantic_model"][0]["custom_extensions"][0]["data"])["payments"] == demo["payments"]


def test_invalid_output_is_one_line_model_error():
    ossie = {"version": OSSIE_VERSION, "semantic_model": [{"name": "m", "datasets": [], "extra": 1}]}
    with pytest.raises(ModelError) as raised:
        validate_ossie(ossie, "out.yaml")
    message = str(raised.value)
    assert message.startswith("out.yaml: not a valid Ossie 0.2.0.dev0 document") and "\n" not in message


def test_duplicate_metric_names_are_refused(processing):
    ossie = to_ossie(processing)
    model = _model(ossie)
    model["metrics"].append(copy.deepcopy(model["metrics"][0]))
    with pytest.raises(ModelError, match="two metric entries named 'payment_count'"):
        validate_ossie(ossie)


def test_broken_model_is_not_exported(processing, tmp_path):
    processing["payments"]["roles"]["city"]["dimension"] = "terminals.nowhere"
    with pytest.raises(ModelError, match="nowhere"):
        write_ossie(processing, tmp_path / "x.yaml")
    assert not (tmp_path / "x.yaml").exists()


def test_field_clash_is_a_model_error(processing):
    processing["semantic_models"][1]["dimensions"].append({"name": "merchant_id", "type": "categorical", "expr": "mid"})
    with pytest.raises(ModelError, match="merchant_id"):
        to_ossie(processing)
