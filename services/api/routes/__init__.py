"""Every router, collected in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from services.api.routes import (
    alerts,
    awards,
    catalog,
    dashboard,
    exports,
    health,
    rankings,
    recompute,
    scorecards,
    stream,
    units,
)

V1_PREFIX = "/v1"
_V1 = (rankings, scorecards, units, awards, alerts, stream, exports, catalog, recompute)
_ROOT = (health, dashboard)

api_router = APIRouter()
for module in _V1:
    api_router.include_router(module.router, prefix=V1_PREFIX)
for module in _ROOT:
    api_router.include_router(module.router)


def route_dependencies() -> dict[tuple[str, str], set[Callable[..., Any]]]:
    """(full path template, lower-case method) → the dependencies its router and route
    declare (the OpenAPI document names the bearer scheme from them)."""
    found: dict[tuple[str, str], set[Callable[..., Any]]] = {}
    for prefix, modules in ((V1_PREFIX, _V1), ("", _ROOT)):
        for module in modules:
            for route in module.router.routes:
                if isinstance(route, APIRoute):
                    calls = {
                        d.dependency for d in (*module.router.dependencies, *route.dependencies)
                    }
                    for method in route.methods or ():
                        found[(prefix + route.path, method.lower())] = {c for c in calls if c}
    return found


def route_templates() -> dict[Callable[..., Any], str]:
    """endpoint → its full path template, for metrics labels (FastAPI keeps included
    routers nested, so a matched route only knows its path inside its own router)."""
    templates = {}
    for prefix, modules in ((V1_PREFIX, _V1), ("", _ROOT)):
        for module in modules:
            for route in module.router.routes:
                if isinstance(route, APIRoute):
                    templates[route.endpoint] = prefix + route.path
    return templates
