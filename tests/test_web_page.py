"""The web page at ``/``, in a real browser: Debian's headless Chromium driven by Playwright, against a real
``paysql serve`` on loopback over the session's demo database (offline provider: no key, no network).

Playwright drives the system binary (``executable_path``), so no ``playwright install`` is needed; the browser's
HOME is a temporary folder so its profile stays out of the user's. CI installs ``chromium`` (``.ci/run``); the
module is skipped only where that binary is absent. Screenshots of the answered page are saved to
``tests/artifacts/`` (gitignored; ``web_page.png`` is the breakdown with its chart) and their paths printed.

The session database is shared: when another test has already created API keys there, the server runs keyed, and
this module makes a key of its own (``paysql keys create``) and uses it the way the page does.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from serving import paysql_serve

from paysql_magic.demo import READER_ROLE

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
    pytest.mark.usefixtures("forget_what_this_module_cached"),  # its questions must not look like reruns later
]

ARTIFACTS = Path(__file__).parent / "artifacts"
STARTUP_S = 60
HOSTILE = ["<script>window.__pwned = 1</script>", '<img src=x onerror="window.__pwned = 1">']
TODAY = "Сколько транзакций было сегодня?"
BREAKDOWN = "Топ 5 MCC категорий по объему за последние 7 дней"
SERIES = "Daily volume for the last 30 days"


def _paysql() -> str:
    beside = Path(sys.executable).with_name("paysql")
    return str(beside) if beside.exists() else (shutil.which("paysql") or "paysql")


def _get(url: str, key: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@dataclass(frozen=True)
class Server:
    base: str
    key: str | None  # the API key the server needs: set only when the session's database already holds keys


def _create_key(demo) -> str:
    """A key for this module: the session database holds API keys (another test made some), so none runs open."""
    command = [_paysql(), "keys", "create", f"web-page-test-{secrets.token_hex(4)}", "--database-url", demo.admin_url]
    command += ["--grant-to", READER_ROLE]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not done.stdout.strip():
        pytest.fail(f"paysql keys create failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout.split()[0]


@pytest.fixture(scope="module")
def server(demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``paysql serve`` on a free loopback port over the demo database (read-only role)."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    # 401 is up too: keys exist in the session database
    with paysql_serve("--database-url", demo.reader_url, log=log, ready=(200, 401), startup_s=STARTUP_S) as base:
        yield Server(base, _create_key(demo) if _get(f"{base}/api/health")[0] == 401 else None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), env={**os.environ, "HOME": str(home)})
        yield browser
        browser.close()


@pytest.fixture
def problems() -> list[str]:
    """The page's console errors (CSP violations are reported there too) and uncaught exceptions."""
    return []


def _context(browser: Browser, server: Server, *, signed_in: bool = True) -> BrowserContext:
    """A browser context for the server. When the server needs a key, the page's own files are fetched with it
    (a navigation carries no X-API-Key) and, with ``signed_in``, the page finds it where its key field keeps it."""
    context = browser.new_context(base_url=server.base, viewport={"width": 1200, "height": 900})
    if server.key:
        key = server.key

        def with_key(route: Route) -> None:
            route.continue_(headers={**route.request.headers, "x-api-key": key})

        context.route(re.compile(r"^http://127\.0\.0\.1:\d+/(?!api/)"), with_key)
        if signed_in:
            context.add_init_script(f"sessionStorage.setItem('paysql.apiKey', {json.dumps(key)})")
    return context


@pytest.fixture
def page(browser: Browser, server: Server, problems: list[str]) -> Iterator[Page]:
    context = _context(browser, server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    yield page
    context.close()


def _screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def _ask(page: Page, question: str, *, keyboard: bool = False) -> None:
    page.fill("#question", question)
    if keyboard:
        page.press("#question", "Control+Enter")
    else:
        page.click("#ask")
    page.wait_for_selector("#busy[hidden]", state="attached")  # the answer (or an error) is in


def _digits(value: str) -> int:
    return int(re.sub(r"\D", "", value))


def _number(value: str) -> float:
    """A number as the page shows it in a Russian answer: ``3 627 435,21`` (non-breaking spaces, decimal comma)."""
    return float(re.sub(r"\s", "", value).replace(",", "."))


def _answer(**overrides) -> dict:
    answer = {
        "question": "q",
        "sql": "SELECT 1",
        "columns": ["merchant_name", "total_volume"],
        "data": [],
        "row_count": 0,
        "truncated": False,
        "execution_time_ms": 1.5,
        "llm_time_ms": 0.4,
        "provider": "offline",
        "model": "offline-parser-1",
        "cached": False,
    }
    answer.update(overrides)
    return answer


def _fulfill(route: Route, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body), headers=headers or {})


def test_page_is_served_with_a_csp_and_only_its_own_scripts(server):
    status, headers, body = _get(f"{server.base}/", server.key)
    assert status == 200
    assert "text/html" in headers.get("content-type", "")
    csp = headers.get("content-security-policy", "")
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'"):
        assert directive in csp, csp
    html = body.decode()
    assert "<script>" not in html and " style=" not in html  # nothing inline: the CSP would block it
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no CDN: works offline
    for name in re.findall(r"""(?:src|href)="(static/[^"]+)\"""", html):
        status, headers, _ = _get(f"{server.base}/{name}", server.key)
        assert status == 200 and "content-security-policy" in headers, name


def test_question_shows_sql_table_timing_and_matches_the_database(page, problems, transactions_today):
    page.goto("/")
    expect(page.locator("#busy")).to_be_hidden()
    _ask(page, TODAY, keyboard=True)  # Ctrl+Enter submits
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#result")).to_be_visible()

    expected = transactions_today
    assert expected > 0
    expect(page.locator("#table thead th")).to_have_text(["total_transactions"])
    cells = page.locator("#table tbody td")
    expect(cells).to_have_count(1)
    assert _digits(cells.first.inner_text()) == expected
    assert "num" in (cells.first.get_attribute("class") or "")  # numbers are right-aligned

    assert "current_date" in page.locator("#sql").inner_text().lower()
    assert page.locator("#row-count").inner_text() == "1"
    assert page.locator("#provider").inner_text().startswith("offline")
    assert re.fullmatch(r"[\d.,]+", page.locator("#exec-ms").inner_text())
    expect(page.locator("#truncated")).to_be_hidden()
    expect(page.locator("#chart")).to_be_hidden()  # one number: no chart

    _screenshot(page, "web_page_today.png")
    assert problems == []


def test_breakdown_draws_sorted_bars_and_series_draws_lines(page, problems):
    page.goto("/")
    page.click("button.example >> text=" + BREAKDOWN)  # the example buttons ask at once
    page.wait_for_selector("#busy[hidden]", state="attached")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#chart")).to_be_visible()
    assert page.locator("#chart").get_attribute("data-kind") == "bar"
    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#chart rect.bar")).to_have_count(5)
    categories = page.locator("#table tbody tr td:first-child").all_inner_texts()
    assert page.locator("#chart text.bar-label").all_text_contents() == categories  # the largest on top
    volumes = [_number(v) for v in page.locator("#table tbody td.num").all_inner_texts()]
    assert volumes == sorted(volumes, reverse=True) and volumes[0] > 1000
    assert page.locator("#table thead th.money").count() == 1  # the KZT column is marked
    _screenshot(page, "web_page.png")

    _ask(page, SERIES)
    expect(page.locator("#chart")).to_be_visible()
    assert page.locator("#chart").get_attribute("data-kind") == "line"
    expect(page.locator("#chart polyline.line")).to_have_count(1)
    points = page.locator("#chart polyline.line").get_attribute("points").split()
    assert len(points) == page.locator("#table tbody tr").count() > 1
    _screenshot(page, "web_page_series.png")
    assert problems == []


def test_error_response_shows_its_detail_and_no_stale_result(page):
    page.goto("/")
    _ask(page, TODAY)
    expect(page.locator("#result")).to_be_visible()
    _ask(page, "DROP TABLE transactions")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#result")).to_be_hidden()
    message = page.locator("#error").inner_text()
    assert re.match(r"(refused|declined|needs_clarification|bad_request): \S", message), message


def test_hostile_values_stay_text(page):
    """A merchant called ``<script>...`` or ``<img onerror>``: shown as text in the table and the chart, never run."""
    data = [{"merchant_name": name, "total_volume": 1000.0 * (i + 1)} for i, name in enumerate(HOSTILE)]
    hostile = _answer(question=HOSTILE[0], data=data, row_count=2, sql="SELECT '<script>alert(1)</script>' AS x")
    page.route("**/api/query", lambda route: _fulfill(route, 200, hostile))
    page.goto("/")
    _ask(page, "Top merchants")
    expect(page.locator("#table tbody tr")).to_have_count(2)
    names = page.locator("#table tbody td:first-child").all_inner_texts()
    assert names == HOSTILE
    assert page.locator("#sql").inner_text() == hostile["sql"]
    assert page.locator("#chart").get_attribute("data-kind") == "bar"
    assert page.locator("#chart figcaption").inner_text() == HOSTILE[0]
    assert all(label.startswith("<") for label in page.locator("#chart text.bar-label").all_text_contents())
    assert page.locator("img").count() == 0
    assert page.locator("#result script, #chart script").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    _screenshot(page, "web_page_hostile.png")


def test_busy_indicator_truncation_notice_and_api_key_prompt(browser, server):
    context = _context(browser, server, signed_in=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen: list[dict[str, str]] = []
    pending: list[Route] = []

    def handle(route: Route) -> None:
        seen.append(route.request.headers)
        if len(seen) == 1:
            _fulfill(route, 401, {"error": "unauthorized", "detail": "an API key is required"})
        else:
            pending.append(route)  # answered below, after the busy indicator is checked

    page.route("**/api/query", handle)
    page.goto("/")
    expect(page.locator("#key-form")).to_be_hidden()
    _ask(page, TODAY)
    expect(page.locator("#error")).to_contain_text("an API key is required")
    expect(page.locator("#key-form")).to_be_visible()
    assert "x-api-key" not in seen[0]

    page.fill("#api-key", "k-123")
    page.click("#key-save")  # stores the key and asks the last question again
    expect(page.locator("#busy")).to_be_visible()
    expect(page.locator("#ask")).to_be_disabled()
    assert len(pending) == 1 and seen[1].get("x-api-key") == "k-123"
    data = [{"day": f"2026-01-{d:02d}", "total_transactions": d * 1000} for d in range(1, 4)]
    answer = _answer(
        question="Daily transactions",
        columns=["day", "total_transactions"],
        data=data,
        row_count=3,
        truncated=True,
        cached=True,
    )
    _fulfill(pending[0], 200, answer)
    expect(page.locator("#busy")).to_be_hidden()
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#truncated")).to_be_visible()
    expect(page.locator("#cached")).to_be_visible()
    expect(page.locator("#table tbody td.num")).to_have_text(["1,000", "2,000", "3,000"])  # English question: 1,000
    assert page.evaluate("() => sessionStorage.getItem('paysql.apiKey')") == "k-123"
    context.close()
