"""Where review cells go, kernel side (paysql_magic/review.py): the extension's payload, the saved-notebook fallback,
the terminal. The browser side is tests/test_jupyterlab.py."""

from __future__ import annotations

import os
from types import SimpleNamespace

import nbformat
import pytest

from paysql_magic import review

REVIEW = "%%ask --sql -o top\n-- ask: Top 5 merchants by volume\nSELECT 1"
ASKING = "%%ask -o top\nTop 5 merchants by volume"


class FakeKernel:
    def __init__(self, request: dict) -> None:
        self.request = request

    def get_parent(self, channel: str) -> dict:
        assert channel == "shell"
        return self.request


class FakeShell:
    """What review.py touches of an ipykernel shell."""

    def __init__(self, request: dict | None, user_ns: dict | None = None) -> None:
        self.kernel = FakeKernel(request) if request is not None else None
        self.user_ns = user_ns or {}
        self.next_inputs: list[str] = []
        self.payloads: list[dict] = []
        self.payload_manager = SimpleNamespace(write_payload=lambda data, single=True: self.payloads.append(data))

    def set_next_input(self, text: str, replace: bool = False) -> None:
        assert replace is False
        self.next_inputs.append(text)


def _request(code: str = ASKING, cell_id: str | None = "ask-1", **metadata) -> dict:
    meta = {"cellId": cell_id, **metadata} if cell_id else dict(metadata)
    return {"header": {"msg_type": "execute_request"}, "metadata": meta, "content": {"code": code}}


def _notebook(path, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, id=cell_id) for cell_id, source in cells]
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (REVIEW, True),
        ("%%ask --sql\nSELECT 1", True),
        ("  %%ask -o x --sql --plot\n-- ask: q\nSELECT 1", True),
        (ASKING, False),
        ("%%ask --sqlish\nq", False),
        ("# %%ask --sql\nSELECT 1", False),
        ("SELECT 1 -- %%ask --sql", False),
    ],
)
def test_a_review_cell_is_known_by_its_first_line(source, expected) -> None:
    assert review.is_review(source) is expected


def test_with_the_extension_the_review_goes_as_a_payload_and_never_as_set_next_input() -> None:
    shell = FakeShell(_request(paysql_review="1"))
    reviews = review.Reviews()
    for _ in range(3):  # Restart & Run All, again and again: the extension decides where it goes
        assert reviews.offer(shell, REVIEW, "Top 5 merchants by volume") == "frontend"
    assert shell.next_inputs == []
    assert shell.payloads[0] == {
        "source": "paysql_review",
        "text": REVIEW,
        "question": "Top 5 merchants by volume",
        "cell_id": "ask-1",
    }


def test_without_the_extension_one_cell_per_asking_cell_in_a_kernel() -> None:
    shell = FakeShell(_request())
    reviews = review.Reviews()
    assert reviews.offer(shell, REVIEW, "q") == "inserted"
    assert reviews.offer(shell, REVIEW, "q") == "present"  # the same cell run again (cached or --fresh alike)
    shell.kernel.request = _request(cell_id="ask-2")
    assert reviews.offer(shell, REVIEW, "q") == "inserted"  # another asking cell, same question: its own review
    assert shell.next_inputs == [REVIEW, REVIEW]


def test_without_cell_ids_the_asking_cell_is_known_by_its_code() -> None:
    shell = FakeShell(_request(cell_id=None))
    reviews = review.Reviews()
    assert [reviews.offer(shell, REVIEW, "q") for _ in range(2)] == ["inserted", "present"]
    shell.kernel.request = _request(code=ASKING + " ", cell_id=None)
    assert reviews.offer(shell, REVIEW, "q") == "present"


def test_a_new_kernel_reads_the_saved_notebook(tmp_path, monkeypatch) -> None:
    """Restart & Run All without the extension: the saved notebook already has the review cell below."""
    path = tmp_path / "analysis.ipynb"
    _notebook(path, [("load", "%load_ext paysql_magic"), ("ask-1", ASKING), ("rev-1", REVIEW + "\n-- edited")])
    monkeypatch.chdir(tmp_path)
    shell = FakeShell(_request(), user_ns={"__session__": str(path)})
    assert review.Reviews().offer(shell, REVIEW, "q") == "present"
    assert shell.next_inputs == []

    vscode = FakeShell(_request(cell_id=None), user_ns={"__vsc_ipynb_file__": str(path)})  # by source, no id
    assert review.Reviews().offer(vscode, REVIEW, "q") == "present"

    relative = FakeShell(_request(), user_ns={"__session__": "analysis.ipynb"})  # JupyterLab: relative to root
    assert review.Reviews().offer(relative, REVIEW, "q") == "present"


def test_a_saved_notebook_without_the_review_cell_gets_one(tmp_path) -> None:
    path = tmp_path / "analysis.ipynb"
    _notebook(path, [("ask-1", ASKING), ("other", "print('not a review cell')")])
    shell = FakeShell(_request(), user_ns={"__session__": str(path)})
    assert review.Reviews().offer(shell, REVIEW, "q") == "inserted"
    assert shell.next_inputs == [REVIEW]


def test_an_unreadable_notebook_is_no_review_cell(tmp_path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    shell = FakeShell(_request(), user_ns={"__session__": str(path)})
    assert review.Reviews().offer(shell, REVIEW, "q") == "inserted"


def test_a_terminal_prefills_the_next_prompt_every_time() -> None:
    shell = FakeShell(None)
    reviews = review.Reviews()
    assert [reviews.offer(shell, REVIEW, "q") for _ in range(2)] == ["terminal", "terminal"]
    assert shell.next_inputs == [REVIEW, REVIEW]


def test_a_real_kernel_inserts_once_without_the_extension_and_never_with_it(reader_url, tmp_path) -> None:
    """ipykernel as JupyterLab and VS Code drive it: the request's metadata and code reach review.py."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PAYSQL_DATABASE_URL": reader_url}
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:

        def payloads(code: str, **metadata) -> list[dict]:
            """Execute ``code`` with this request metadata (as JupyterLab sends cellId); the reply's payloads."""
            content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}}
            request = client.session.msg("execute_request", content, metadata=metadata)
            client.shell_channel.send(request)
            while True:
                reply = client.get_shell_msg(timeout=120)
                if reply["parent_header"].get("msg_id") == request["header"]["msg_id"]:
                    assert reply["content"]["status"] == "ok", reply["content"]
                    return reply["content"].get("payload", [])

        payloads("%load_ext paysql_magic")
        cell = "%%ask -o n\nСколько транзакций было сегодня?"
        first = payloads(cell, cellId="ask-1")
        again = payloads(cell, cellId="ask-1")
        assert [p["source"] for p in first] == ["set_next_input"]
        assert first[0]["text"].startswith("%%ask --sql -o n\n-- ask: Сколько транзакций было сегодня?\n")
        assert again == []  # the same cell again (now cached): no second copy
        with_extension = payloads(cell, cellId="ask-2", paysql_review="1")
        assert [p["source"] for p in with_extension] == ["paysql_review"]
        assert with_extension[0]["cell_id"] == "ask-2" and with_extension[0]["text"] == first[0]["text"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
