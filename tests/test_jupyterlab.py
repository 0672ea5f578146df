"""The notebook face in a real JupyterLab: ``jupyter lab`` on loopback (token, no browser, a temporary root and
home), driven by Playwright in Debian's Chromium (``executable_path``: no browser download), the kernel on the
session's demo database (``PAYSQL_DATABASE_URL``, offline provider).

A notebook with several ``%%ask`` cells is run twice with Restart & Run All, the query cache emptied before each
run (a fresh database, as on a colleague's machine) and one asking cell ``--fresh``: the cell count is the same
after both runs, a review cell edited in the browser (unsaved) survives untouched, review cells are highlighted as
SQL, a money column shows thousands separators, the chart comes under its table. Screenshots go to
``tests/artifacts/jupyterlab-*.png`` (gitignored).

The extension must be found the way an installed paysql-magic provides it: the venv's
``share/jupyter/labextensions/paysql-magic`` (shared-data of the wheel, editable installs too). When that copy is
not this tree's (a development venv installed from another checkout), the fixture points ``JUPYTER_PATH`` at this
tree's built assets instead, and says so.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import text

from paysql_magic import cache

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).parents[1]
BUILT = ROOT / "paysql_magic" / "labextension"
ARTIFACTS = Path(__file__).parent / "artifacts"
STARTUP_S = 90
RUN_S = 240
QUESTIONS = {
    "top": "Top 5 merchants by volume",
    "by_city": "Сколько транзакций по городам за последние 7 дней",
    "daily": "Daily volume for the last 30 days",
    "declined": "Какая доля отклоненных транзакций за последние 7 дней?",
}
CELLS = [
    "%load_ext paysql_magic",
    f"%%ask -o top\n{QUESTIONS['top']}",
    f"%%ask -o by_city --fresh\n{QUESTIONS['by_city']}",
    f"%%ask -o daily --plot\n{QUESTIONS['daily']}",
    f"%%ask -o declined\n{QUESTIONS['declined']}",
    'import os\nprint("run done in kernel", os.getpid())',
]
EDIT = "-- edited in the browser, never saved"


@dataclass(frozen=True)
class Lab:
    base: str
    token: str
    root: Path
    log: Path
    how: str  # how the extension was found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _installed_extension() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "paysql-magic"


def _same_build(installed: Path) -> bool:
    try:
        return json.loads((installed / "package.json").read_text()) == json.loads((BUILT / "package.json").read_text())
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="module")
def lab(reader_url, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    settings = home / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell in the DOM, to count them
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "PAYSQL_DATABASE_URL": reader_url,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))),
    }
    installed = _installed_extension()
    if _same_build(installed):
        how = f"installed with the package: {installed}"
    else:
        share = home / "share"
        (share / "labextensions").mkdir(parents=True)
        (share / "labextensions" / "paysql-magic").symlink_to(BUILT, target_is_directory=True)
        env["JUPYTER_PATH"] = str(share)
        how = f"this tree's build through JUPYTER_PATH ({installed} is another checkout's or absent)"
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert re.search(r"paysql-magic v\S+ .*enabled.*OK", listed.stdout + listed.stderr), listed.stdout + listed.stderr

    port, token = _free_port(), secrets.token_hex(16)
    log = home / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",  # CI runs as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        print(f"jupyterlab at {base}; paysql-magic extension {how}")
        yield Lab(base, token, root, log, how)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("chromium-home")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), env={**os.environ, "HOME": str(home)})
        yield browser
        browser.close()


def _forget_cached(admin_engine) -> None:
    """A fresh database for these questions: no cached SQL, so every asking cell generates anew."""
    with admin_engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('paysql.query_cache')")).scalar() is not None:
            keys = [cache.normalize(q) for q in QUESTIONS.values()]
            conn.execute(text("DELETE FROM paysql.query_cache WHERE question_key = ANY(:k)"), {"k": keys})


def _sources(page) -> list[str]:
    """The source of every cell, as the browser holds it (unsaved edits included)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(cell =>
            [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')].map(line => line.textContent).join('\\n'))"""
    )


def _restart_and_run_all(page, lab: Lab) -> None:
    """Kernel > Restart Kernel and Run All Cells (the toolbar's button and its dialog), until the last cell prints
    the new kernel's pid. A click that reached no kernel (the page still settling) is tried again."""
    marker = page.locator(".jp-Cell").last.locator(".jp-OutputArea-output")
    before = marker.inner_text() if marker.count() else ""
    started = False
    for _attempt in range(3):
        page.locator('[data-command="notebook:restart-run-all"]:visible').first.click()
        page.locator(".jp-Dialog .jp-mod-accept").click()
        try:  # a restarted kernel runs the first cell: its prompt turns to [*] or a number
            page.wait_for_function(
                r"""() => [...document.querySelectorAll('.jp-Notebook .jp-Cell .jp-InputPrompt')]
                    .some(p => /\[(\*|\d+)\]/.test(p.textContent))""",
                timeout=30_000,
            )
            started = True
            break
        except playwright_api.TimeoutError:
            continue
    if not started:
        _screenshot(page, "jupyterlab-timeout.png")
        pytest.fail(f"Restart & Run All did not start:\n{lab.log.read_text()[-2000:]}")
    deadline = time.monotonic() + RUN_S
    while True:  # the last cell prints the new kernel's pid when the run got through every cell
        now = marker.inner_text() if marker.count() else ""
        if "run done in kernel" in now and now != before:
            break
        if time.monotonic() > deadline:
            _screenshot(page, "jupyterlab-timeout.png")
            pytest.fail(f"Restart & Run All did not finish:\n{lab.log.read_text()[-2000:]}")
        time.sleep(0.5)
    page.wait_for_timeout(500)  # the last reply's review payload is handled right after it


def _wait_for_kernel(page) -> None:
    """The notebook's kernel is up and idle (the status bar says so): Restart & Run All has a kernel to restart."""
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    playwright_api.expect(page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))).to_be_visible(
        timeout=90_000
    )


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def _css_color(page, variable: str) -> str:
    return page.evaluate(
        """(name) => { const probe = document.createElement('span'); probe.style.color = `var(${name})`;
            document.body.appendChild(probe); const color = getComputedStyle(probe).color; probe.remove();
            return color; }""",
        variable,
    )


def _token_color(cell, pattern: str) -> str | None:
    """The color of the first editor token whose text matches ``pattern``."""
    return cell.evaluate(
        """(cell, pattern) => { const re = new RegExp(pattern);
            for (const span of cell.querySelectorAll('.jp-InputArea-editor .cm-line span')) {
                if (re.test(span.textContent) && span.children.length === 0) return getComputedStyle(span).color;
            }
            return null; }""",
        pattern,
    )


def _review_after(sources: list[str], question: str) -> int:
    """The index of the review cell right below the cell asking ``question``."""
    asking = next(i for i, s in enumerate(sources) if s.startswith("%%ask") and question in s and "--sql" not in s)
    below = sources[asking + 1]
    assert below.startswith("%%ask --sql") and f"-- ask: {question}" in below, sources
    return asking + 1


def test_restart_and_run_all_twice_keeps_one_review_cell_per_question(lab, browser, admin_engine) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    path = lab.root / "analysis.ipynb"
    nbformat.write(nb, path)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    try:
        page.goto(f"{lab.base}/lab/tree/analysis.ipynb?token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        _wait_for_kernel(page)

        _forget_cached(admin_engine)
        _restart_and_run_all(page, lab)
        first = _sources(page)
        _screenshot(page, "jupyterlab-first-run.png")
        assert len(first) == len(CELLS) + len(QUESTIONS), first  # one review cell below each asking cell
        for question in QUESTIONS.values():
            _review_after(first, question)

        # the analyst edits the review cell of the first question in the browser, and does not save
        index = _review_after(first, QUESTIONS["top"])
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+End")
        page.keyboard.press("Enter")
        page.keyboard.type(EDIT)
        edited = _sources(page)[index]
        assert edited.endswith(EDIT)

        _forget_cached(admin_engine)  # the second run misses the cache again: where copies used to pile up
        _restart_and_run_all(page, lab)
        second = _sources(page)
        _screenshot(page, "jupyterlab-second-run.png")
        assert len(second) == len(first), second
        assert second[index] == edited  # the edited review cell survives untouched
        assert [s for i, s in enumerate(second) if i != index] == [s for i, s in enumerate(first) if i != index]

        # review cells read as SQL: keywords in the keyword color, the -- ask: line a comment
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(ARTIFACTS / "jupyterlab-review-cell.png"))
        assert _token_color(cell, r"^SELECT$") == _css_color(page, "--jp-mirror-editor-keyword-color")
        assert _token_color(cell, r"^-- ask:") == _css_color(page, "--jp-mirror-editor-comment-color")
        asking = page.locator(".jp-Notebook .jp-Cell").nth(index - 1)  # the asking cell stays Python
        assert _token_color(asking, r"^Top") != _css_color(page, "--jp-mirror-editor-keyword-color")
        assert cell.locator(".jp-OutputArea-output").count() > 0  # the edited review cell ran

        # money in the asking cell's table: thousands separators and two decimals
        values = asking.locator(".jp-OutputArea-output table.dataframe tbody td").all_inner_texts()
        assert any(re.fullmatch(r"\d{1,3}(,\d{3})+\.\d{2}", v.strip()) for v in values), values

        # the chart is under the table
        daily = page.locator(".jp-Notebook .jp-Cell").nth(_review_after(second, QUESTIONS["daily"]) - 1)
        kinds = daily.locator(".jp-OutputArea-output").evaluate_all(
            "outputs => outputs.map(o => o.querySelector('table') ? 'table' : o.querySelector('img') ? 'img' : '')"
        )
        assert [k for k in kinds if k] == ["table", "img"], kinds
        daily.locator(".jp-OutputArea-output img").scroll_into_view_if_needed()
        daily.locator(".jp-OutputArea-output img").screenshot(path=str(ARTIFACTS / "jupyterlab-chart.png"))

        page.keyboard.press("Control+s")  # what the analyst shares: the same cells on disk
        page.wait_for_timeout(1500)
        saved = nbformat.read(path, as_version=4)
        assert len(saved.cells) == len(second)
        assert saved.cells[index].source == edited

        # a brand-new notebook asking a question the cache knows (the run above stored it) gets its review cell
        other = nbformat.v4.new_notebook()
        other.cells = [nbformat.v4.new_code_cell(source) for source in (CELLS[0], CELLS[1], CELLS[-1])]
        other.metadata["kernelspec"] = nb.metadata["kernelspec"]
        nbformat.write(other, lab.root / "new.ipynb")
        page.goto(f"{lab.base}/lab/workspaces/other/tree/new.ipynb?reset&token={lab.token}")  # only this one open
        _wait_for_kernel(page)
        _restart_and_run_all(page, lab)
        cells = _sources(page)
        assert len(cells) == 4, cells
        assert cells[2].startswith("%%ask --sql -o top\n-- ask: Top 5 merchants by volume\n")
        outputs = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output").all_inner_texts()
        assert any(", cached" in text for text in outputs), outputs
        assert problems == []
    finally:
        context.close()
