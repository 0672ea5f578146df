"""Where the reviewed SQL goes: one ``%%ask --sql`` review cell below each asking cell, whatever the cache holds.

The kernel cannot see the notebook, so the frontend decides where it can:

- **JupyterLab with the paysql-magic extension** (``labextension/``, shipped in the wheel): the extension marks
  every execute request of a notebook with ``paysql_review`` in its metadata. The kernel then sends the review cell
  as an execute-reply payload of its own (``source: paysql_review``, ignored by every other frontend), and the
  extension places it in the live notebook, unsaved edits included: it inserts the cell below the asking cell, or
  leaves the review cell that is already there (an edited one is never touched; one it inserted itself and nobody
  edited is refreshed when the SQL changed). Restart & Run All, another machine, a cold cache, ``--fresh``: the
  same cells.
- **Any other frontend in a kernel** (VS Code, classic Notebook, JupyterLab without the extension): IPython's
  ``set_next_input``, which always inserts a cell, so the kernel holds back when it knows the review cell is
  there: the saved notebook file has a review cell right below the asking cell (found by its cell id, else by its
  source), or this kernel already inserted one for that cell. Unsaved review cells of an earlier kernel cannot be
  seen; that is what the extension is for.
- **A terminal IPython**: ``set_next_input`` pre-fills the next prompt, every time.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

FRONTEND_FLAG = "paysql_review"  # execute_request metadata set by the JupyterLab extension
PAYLOAD_SOURCE = "paysql_review"  # the execute_reply payload the extension reads
REVIEW_LINE = re.compile(r"^%%ask\b[^\n]*?(?:^|\s)--sql\b")
_NOTEBOOK_VARS = ("__vsc_ipynb_file__", "__session__")  # VS Code, then ipykernel (JPY_SESSION_NAME)


def is_review(source: str) -> bool:
    """Whether a cell's source is a review cell: its first line is ``%%ask ... --sql``."""
    return bool(REVIEW_LINE.match(source.lstrip()))


class Reviews:
    """Offers review cells to the frontend for one IPython shell; remembers what it inserted in this kernel."""

    def __init__(self) -> None:
        self._inserted: set[str] = set()

    def offer(self, shell: Any, text: str, question: str | None) -> str:
        """Deliver the review cell ``text``; returns how: ``frontend``, ``inserted``, ``present`` or ``terminal``."""
        kernel = getattr(shell, "kernel", None)
        request = _request(kernel)
        if request is None:
            shell.set_next_input(text, replace=False)
            return "terminal"
        metadata = request.get("metadata") or {}
        if metadata.get(FRONTEND_FLAG):
            payload = {"source": PAYLOAD_SOURCE, "text": text, "question": question, "cell_id": metadata.get("cellId")}
            shell.payload_manager.write_payload(payload, single=False)
            return "frontend"
        code = (request.get("content") or {}).get("code") or ""
        cell_id = metadata.get("cellId")
        key = cell_id or code.strip()
        if key in self._inserted or _saved_review_below(notebook_path(shell), cell_id, code):
            self._inserted.add(key)
            return "present"
        shell.set_next_input(text, replace=False)
        self._inserted.add(key)
        return "inserted"


def _request(kernel: Any) -> dict | None:
    """The execute request being answered (with its metadata), or None outside a kernel."""
    if kernel is None or not hasattr(kernel, "get_parent"):
        return None
    try:
        parent = kernel.get_parent("shell")
    except Exception:
        return None
    return parent if isinstance(parent, dict) else None


def notebook_path(shell: Any) -> Path | None:
    """The notebook file this kernel runs, when the frontend says (VS Code's variable, ipykernel's session name)."""
    names = [shell.user_ns.get(name) for name in _NOTEBOOK_VARS] + [os.environ.get("JPY_SESSION_NAME")]
    for name in names:
        if not isinstance(name, str) or not name.endswith(".ipynb"):
            continue
        path = Path(name).expanduser()
        for candidate in (path, Path.cwd() / path, Path.cwd() / path.name):
            if candidate.is_file():
                return candidate
    return None


_saved: dict[Path, tuple[tuple[int, int], list]] = {}


def _saved_cells(path: Path) -> list:
    """The cells of the saved notebook (read again only when the file changed); none when it cannot be read."""
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if path not in _saved or _saved[path][0] != version:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            _saved[path] = (version, cells if isinstance(cells, list) else [])
        return _saved[path][1]
    except (OSError, ValueError, AttributeError):
        return []


def _saved_review_below(path: Path | None, cell_id: str | None, code: str) -> bool:
    """Whether the saved notebook has a review cell right below the asking cell (by cell id, else by source)."""
    cells = _saved_cells(path) if path is not None else []
    sources = [
        "".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "") for c in cells
    ]
    found = [i for i, c in enumerate(cells) if cell_id and c.get("id") == cell_id]
    if not found:
        found = [i for i, s in enumerate(sources) if code.strip() and s.strip() == code.strip()]
    return any(
        i + 1 < len(cells) and cells[i + 1].get("cell_type") == "code" and is_review(sources[i + 1]) for i in found
    )
