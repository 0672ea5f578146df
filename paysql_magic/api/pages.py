"""What a browser loads: the web page at ``/`` (``static/index.html``) with its files under ``/static``, and the
OpenAPI docs at ``/docs``. Swagger UI's files come from the ``fastapi-offline`` package (no CDN: users may be
offline), and the docs page has no inline script, so it works under the API's Content-Security-Policy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from paysql_magic.api.errors import ApiError

STATIC_DIR = Path(__file__).with_name("static")
SWAGGER_DIR = Path(str(resources.files("fastapi_offline") / "static"))

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>paysql-magic API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""
DOCS_INIT_JS = 'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n'

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def index() -> FileResponse:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        raise ApiError(404, "not_found", "this installation has no web page (paysql_magic/api/static/index.html)")
    return FileResponse(page, media_type="text/html")


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(DOCS_HTML)


@router.get("/docs/init.js")
def docs_init() -> Response:
    return Response(DOCS_INIT_JS, media_type="text/javascript")


def mount(app: FastAPI) -> None:
    """The page's files under ``/static`` and Swagger UI's under ``/docs/assets``."""
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_DIR), name="docs-assets")
    app.include_router(router)
