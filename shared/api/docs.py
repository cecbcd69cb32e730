"""API documents served from assets installed with the project: `/docs` must work on a government network with
no internet, so Swagger UI comes from the `fastapi-offline` package's files, not from a public CDN. (ReDoc is not
served: its bundle loads its logo from Redocly's CDN.)"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs/assets"
# Swagger UI sends every document to validator.swagger.io unless told not to.
_SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True, "displayOperationId": True}


def serve_api_documents(app: FastAPI, *, openapi_url: str) -> None:
    """Serve Swagger UI at `/docs`, every asset from this machine."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=_SWAGGER_PARAMETERS,
        )
