"""Swagger UI from the service itself, not from a CDN: a province's internal network may have
no internet, and FastAPI's default /docs and /redoc pages load their scripts from jsDelivr.

Each service's FastAPI app is created with ``docs_url=None, redoc_url=None`` and then
:func:`serve_docs` adds ``/docs`` with the Swagger UI 5 dist shipped as package data by
``fastapi-swagger`` (Swagger UI 4, as in ``swagger-ui-bundle``, cannot read the OpenAPI 3.1
documents FastAPI writes). Only its files are used, not its app patching.

:func:`document_bearer` and :func:`inline_examples` finish a service's OpenAPI document: the
bearer schemes its routes need, and an example on every response that has a schema example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
SWAGGER_UI_DIR = Path(str(files("fastapi_swagger") / "resources"))
SWAGGER_PARAMETERS = {
    "persistAuthorization": True,
    "displayRequestDuration": True,
    "defaultModelsExpandDepth": 0,  # the models are linked from each operation
    "docExpansion": "list",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def serve_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI 5) for ``app``'s OpenAPI document, assets under ``/docs-assets``."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — tài liệu API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation in ``document``."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def document_bearer(
    document: dict[str, Any],
    schemes: dict[str, str],
    scheme_of: Callable[[str, str], str | None],
) -> None:
    """Declare ``schemes`` (name → description) as HTTP bearer schemes and require on each
    operation the one ``scheme_of(path, method)`` names (None: open)."""
    declared = document.setdefault("components", {}).setdefault("securitySchemes", {})
    for name, description in schemes.items():
        declared[name] = {"type": "http", "scheme": "bearer", "description": description}
    for path, method, operation in operations(document):
        required = scheme_of(path, method)
        if required is not None:
            operation["security"] = [{required: []}]


def inline_examples(document: dict[str, Any]) -> None:
    """Copy a referenced schema's first example onto each JSON response that has none, so
    every operation shows a concrete answer (Swagger UI 5 shows the media type example)."""
    schemas = document.get("components", {}).get("schemas", {})
    for _path, _method, operation in operations(document):
        for response in operation.get("responses", {}).values():
            for media in response.get("content", {}).values():
                if "example" in media or "examples" in media:
                    continue
                ref = media.get("schema", {}).get("$ref", "")
                examples = schemas.get(ref.rsplit("/", 1)[-1], {}).get("examples")
                if ref and examples:
                    media["example"] = examples[0]


def describe_properties(schemas: dict[str, Any], docs: dict[str, str]) -> None:
    """Give every property of ``schemas`` without a description the one ``docs`` has for its
    name (a model shared between services stays free of one service's wording)."""
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if isinstance(prop, dict) and "description" not in prop and name in docs:
                prop["description"] = docs[name]
