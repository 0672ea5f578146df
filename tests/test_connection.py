"""URLs users paste become engines; passwords never leak into messages."""

from __future__ import annotations

import pytest

from paysql_magic.connection import engine_for, mask, normalize_url
from paysql_magic.errors import ConfigError


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("  postgresql+psycopg://u@/db?host=/tmp/x  ", "postgresql+psycopg://u@/db?host=/tmp/x"),
    ],
)
def test_normalize_accepts_the_urls_users_paste(pasted, expected):
    assert normalize_url(pasted) == expected


@pytest.mark.parametrize("bad", ["sqlite:///x.db", "mysql://u@h/db", "not a url"])
def test_normalize_rejects_other_databases(bad):
    with pytest.raises(ConfigError):
        normalize_url(bad)


def test_mask_hides_the_password():
    assert "s3cret" not in mask("postgresql://u:s3cret@h/db")
    assert "***" in mask("postgresql://u:s3cret@h/db")


def test_bare_postgresql_url_uses_an_installed_driver():
    engine = engine_for("postgresql://u:pw@127.0.0.1:1/db")
    assert engine.dialect.driver in {"psycopg", "psycopg2"}
    assert engine_for("postgresql://u:pw@127.0.0.1:1/db") is engine
