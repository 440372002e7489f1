"""The api's OpenAPI document is something a consumer can work from: bearer schemes on the
routes that need them, every field described, problem+json errors and an example per
operation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from thidua.docs import operations

PROBLEM = "application/problem+json"


def test_bearer_schemes_errors_examples_and_descriptions(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    for path, method, operation in operations(doc):
        security = operation.get("security")
        if path.startswith("/v1/"):
            writes = method != "get"
            assert security == [{"writeToken" if writes else "readToken": []}], (path, method)
            assert list(operation["responses"]["401"]["content"]) == [PROBLEM], path
        else:
            assert security is None, path
        examples = [
            media
            for response in operation["responses"].values()
            for media in response.get("content", {}).values()
            if "example" in media or "examples" in media
        ]
        assert examples, (path, method)
    for name, schema in doc["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{field}"
