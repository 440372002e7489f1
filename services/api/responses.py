"""JSON responses encoded by orjson: handlers return payload dicts already shaped like the
response models, so the models document and the tests check them, not each request."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
