"""JSON responses encoded by orjson: handlers return payload dicts already shaped like the
response models, so the models document and the tests check them, not each request."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import JSONResponse


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def tagged(request: Request, payload: Any, cache_control: str = "no-cache") -> Response:
    """``payload`` as JSON with a strong ETag of its bytes; 304 when the client has it."""
    body = orjson.dumps(payload)
    etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
