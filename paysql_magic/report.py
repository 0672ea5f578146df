"""Parameterised notebook reports: ``paysql report NOTEBOOK --param name=value ... --html OUT.html``.

Parameters are injected the papermill way: the notebook's cell tagged ``parameters`` holds the defaults, and a
new cell tagged ``injected-parameters`` right after it assigns the given values (typed: ``12`` -> int, ``1.5`` ->
float, ``2026-11-20`` -> ``datetime.date``, ``none``/``null`` -> None, anything else a string). The notebook runs
headless (nbclient) with ``PAYSQL_DATABASE_URL`` set for its kernel, the executed notebook is written, and an HTML
copy for people who do not read code (nbconvert, code cells hidden, outputs kept). A cell tagged ``summary`` may
display its figures as ``application/json``; ``render`` returns them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from paysql_magic.egress import redact
from paysql_magic.errors import ConfigError, PaysqlError
from paysql_magic.notebook_runner import execute
from paysql_magic.settings import DATABASE_URL_ENV

if TYPE_CHECKING:
    from nbformat import NotebookNode

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
SUMMARY_TAG = "summary"
METADATA_KEY = "paysql_report"  # the executed notebook's metadata: the parameters it was rendered with
SESSION_ENV = "JPY_SESSION_NAME"  # ipykernel puts it in ``__session__``: the audit log's ``notebook`` column
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class CellFailed(PaysqlError):
    """Raised when a cell of the report fails; the message names the cell and says where the partial run is."""


@dataclass(frozen=True)
class Rendered:
    """Where a rendered report went, how long it took, and the figures of its ``summary`` cell (if any)."""

    notebook: Path
    html: Path | None
    elapsed_s: float
    summary: dict[str, Any] | None = field(default=None, repr=False)


def parse_value(text: str) -> object:
    """A command-line value, typed: int, float, ISO date, None (``none``/``null``), else the string itself."""
    value = text.strip()
    if value.lower() in ("none", "null"):
        return None
    if _NUMBER.fullmatch(value):
        return float(value) if any(c in value for c in ".eE") else int(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{text!r} is not a valid date (YYYY-MM-DD)") from None
    return text


def parse_params(pairs: list[str]) -> dict[str, object]:
    """``["date=2026-11-20", "top_n=10"]`` -> ``{"date": date(2026, 11, 20), "top_n": 10}``."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigError(f"--param {pair!r}: write it as name=value, e.g. --param date=2026-11-20")
        params[name.strip()] = parse_value(value)
    return params


def find_notebook(name: str) -> Path:
    """``name`` as a path, else a notebook shipped with paysql-magic (``daily_report`` or ``daily_report.ipynb``)."""
    path = Path(name).expanduser()
    if path.exists():
        return path
    shipped = Path(str(resources.files("paysql_magic") / "notebooks" / Path(name).with_suffix(".ipynb").name))
    if shipped.exists():
        return shipped
    raise ConfigError(f"no notebook {name}: give a path, or a shipped one (daily_report, quickstart)")


def parameter_names(nb: NotebookNode) -> list[str]:
    """The names the ``parameters`` cell assigns, in order (empty when there is no such cell)."""
    index = _tagged(nb, PARAMETERS_TAG)
    if index is None:
        return []
    names: list[str] = []
    for node in ast.parse(nb.cells[index].source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def inject(nb: NotebookNode, params: dict[str, object], name: str = "the notebook") -> NotebookNode:
    """Add (or replace) the ``injected-parameters`` cell after the ``parameters`` cell; unknown names are refused."""
    import nbformat

    if not params:
        return nb
    known = parameter_names(nb)
    if not known:
        raise ConfigError(f"{name} has no cell tagged '{PARAMETERS_TAG}': it takes no --param")
    unknown = [p for p in params if p not in known]
    if unknown:
        raise ConfigError(f"unknown parameter {', '.join(unknown)}: {name} has {', '.join(known)}")
    old = _tagged(nb, INJECTED_TAG)
    if old is not None:  # rendering an executed copy again: its values are replaced, as papermill does
        del nb.cells[old]
    lines = ["# Parameters"]
    if any(isinstance(value, date) for value in params.values()):
        lines.append("import datetime")
    lines += [f"{key} = {value!r}" for key, value in params.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines) + "\n", metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert((_tagged(nb, PARAMETERS_TAG) or 0) + 1, cell)
    nb.metadata[METADATA_KEY] = {"parameters": {key: _text(value) for key, value in params.items()}}
    return nb


def load(notebook: Path, params: dict[str, object]) -> NotebookNode:
    """Read ``notebook`` and inject ``params`` (an unknown name fails here, before any database work)."""
    import nbformat

    return inject(nbformat.read(notebook, as_version=4), params, notebook.name)


def render(
    nb: NotebookNode,
    source: Path,
    database_url: str,
    *,
    html: Path | None = None,
    output: Path | None = None,
    timeout_s: int = 600,
) -> Rendered:
    """Execute ``nb`` (``load``-ed from ``source``) against ``database_url``; write the executed notebook and HTML.

    The executed notebook goes to ``output``, else next to the HTML (same name, ``.ipynb``), else to
    ``<name>.executed.ipynb`` in the current directory. A failing cell raises ``CellFailed`` (the notebook is
    still written, with the outputs up to the failure).
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError

    start = perf_counter()
    out = (output or (html.with_suffix(".ipynb") if html else Path(f"{source.stem}.executed.ipynb"))).resolve()
    env = {DATABASE_URL_ENV: database_url, SESSION_ENV: source.name}
    try:
        execute(nb, out.parent, timeout_s=timeout_s, env=env)
    except CellExecutionError:
        nbformat.write(nb, out)
        raise CellFailed(f"{_failure(nb)} (executed so far: {out})") from None
    nbformat.write(nb, out)
    if html is not None:
        html = html.resolve()
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(to_html(nb, title=_title(source, nb)), encoding="utf-8")
    return Rendered(out, html, perf_counter() - start, summary_of(nb))


def to_html(nb: NotebookNode, title: str) -> str:
    """The notebook as a standalone HTML page for a reader: code cells and prompts hidden, outputs kept."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def summary_of(nb: NotebookNode) -> dict[str, Any] | None:
    """The ``application/json`` output of the cell tagged ``summary``, if there is one."""
    index = _tagged(nb, SUMMARY_TAG)
    if index is None:
        return None
    for out in nb.cells[index].get("outputs", []):
        if "application/json" in out.get("data", {}):
            return dict(out["data"]["application/json"])
    return None


def _tagged(nb: NotebookNode, tag: str) -> int | None:
    return next((i for i, cell in enumerate(nb.cells) if tag in cell.get("metadata", {}).get("tags", [])), None)


def _failure(nb: NotebookNode) -> str:
    """``cell 7 (%%ask -o top) failed: Declined: ...`` for the first cell with an error output."""
    for number, cell in enumerate(nb.cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                message = redact(out.get("evalue") or "").strip().splitlines()
                first = first if len(first) <= 60 else first[:59] + "…"
                return f"cell {number} ({first}) failed: {out.get('ename')}: {message[0] if message else ''}"
    return "the notebook failed"


def _title(source: Path, nb: NotebookNode) -> str:
    """``daily_report (date=2026-11-20)``: the page title names the values the report was rendered with."""
    params = nb.metadata.get(METADATA_KEY, {}).get("parameters", {})
    return f"{source.stem} ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else source.stem


def _text(value: object) -> str | None:
    return None if value is None else value.isoformat() if isinstance(value, date) else str(value)
