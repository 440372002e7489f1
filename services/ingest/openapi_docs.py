"""OpenAPI descriptions of the request bodies that handlers read themselves (their media type
decides the parser, so FastAPI cannot infer them). The canonical data models are published as
components, so a source system's developer sees every field of SPEC §4."""

from __future__ import annotations

from typing import Any

from thidua.contracts.events import DATA_MODELS, EventType

_REF = "#/components/schemas/{model}"


def _data_name(event_type: EventType) -> str:
    return DATA_MODELS[event_type].__name__


CLOUD_EVENT: dict[str, Any] = {
    "title": "CloudEvent",
    "type": "object",
    "description": "CloudEvents 1.0 structured mode; `data` follows the model of its `type`: "
    + ", ".join(f"{t.value} → {_data_name(t)}" for t in EventType),
    "required": ["specversion", "id", "source", "type", "time", "data"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {"type": "string", "minLength": 1, "maxLength": 500},
        "source": {"type": "string", "minLength": 1, "maxLength": 500},
        "type": {"type": "string", "enum": [t.value for t in EventType]},
        "time": {"type": "string", "format": "date-time", "description": "event time, RFC 3339"},
        "datacontenttype": {"type": "string", "enum": ["application/json"]},
        "data": {"oneOf": [{"$ref": _REF.format(model=_data_name(t))} for t in EventType]},
    },
}


def _ce_header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": f"ce-{name}",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": f"binary mode: {description}",
    }


EVENTS_BODY: dict[str, Any] = {
    "parameters": [
        _ce_header("specversion", "1.0"),
        _ce_header("id", "event id"),
        _ce_header("source", "source URI-reference"),
        _ce_header("type", "canonical type"),
        _ce_header("time", "event time, RFC 3339"),
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/cloudevents+json": {"schema": {"$ref": _REF.format(model="CloudEvent")}},
            "application/cloudevents-batch+json": {
                "schema": {"type": "array", "items": {"$ref": _REF.format(model="CloudEvent")}}
            },
            "application/json": {
                "schema": {"type": "object"},
                "description": "binary mode: the event's data, attributes in ce-* headers",
            },
        },
    },
}

XAPI_STATEMENT: dict[str, Any] = {
    "title": "XapiStatement",
    "type": "object",
    "description": "xAPI 1.0.3 statement; counted when verb is ADL completed/passed, object an "
    "activity mapped to a program, actor.account.name the staff_id",
    "required": ["actor", "verb", "object"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "actor": {
            "type": "object",
            "properties": {
                "account": {
                    "type": "object",
                    "properties": {"homePage": {"type": "string"}, "name": {"type": "string"}},
                }
            },
        },
        "verb": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "object": {"type": "object", "properties": {"id": {"type": "string"}}},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}

XAPI_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": "X-Experience-API-Version",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "enum": ["1.0.3"]},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": _REF.format(model="XapiStatement")},
                        {"type": "array", "items": {"$ref": _REF.format(model="XapiStatement")}},
                    ]
                }
            }
        },
    },
}

EDXML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {
                "schema": {"type": "string"},
                "description": "one edXMLEnvelope (namespace http://www.mic.gov.vn/TBT/QCVN_102_2016)",
            }
        },
    }
}


def extra_components() -> dict[str, Any]:
    """Schemas referenced above, to merge into the generated document's components."""
    schemas: dict[str, Any] = {"CloudEvent": CLOUD_EVENT, "XapiStatement": XAPI_STATEMENT}
    for event_type in EventType:
        model = DATA_MODELS[event_type]
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas
