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


# What each field of SPEC §4 means, added to the published models (they stay the contract's).
FIELD_DOCS = {
    "specversion": "CloudEvents version, always 1.0",
    "id": "event id: (source, id) identifies an event, a resend has no further effect",
    "source": "URI-reference of the source system",
    "type": "canonical event type (SPEC §4)",
    "datacontenttype": "application/json when given",
    "data": "the event's fields, per type",
    "unit_id": "the unit's registry id",
    "name": "the unit's Vietnamese name",
    "tier": "province_agency, district, commune or enterprise",
    "parent_id": "the unit above it, if any",
    "block": "khối thi đua (emulation block)",
    "organ_ids": "edXML OrganId codes of the unit",
    "successor_id": "the unit it merged into (2025 reform)",
    "active": "false from the version that closes it",
    "staff_id": "the staff member's id",
    "category": "civil_servant (công chức), public_employee (viên chức) or worker",
    "digital_id": "has a digital identity (định danh số)",
    "procedure_id": "the administrative procedure (TTHC)",
    "full_online_eligible": "the procedure may be offered fully online",
    "full_online": "offered fully online (toàn trình)",
    "mobile": "usable on mobile",
    "dossier_id": "the dossier (hồ sơ TTHC); a newer version replaces the earlier one",
    "channel": "online_full, online_partial, direct or postal",
    "satisfied": "the citizen or business was satisfied",
    "document_id": "the sent document",
    "from_unit": "the sending unit",
    "to_units": "receiving units",
    "electronic": "sent as an electronic document",
    "digitally_signed": "digitally signed (ký số)",
    "confidential": "confidential documents count in neither part of C11",
    "workfile_id": "the work file (hồ sơ công việc)",
    "online": "processed online",
    "secret": "secret work files count in neither part of C13",
    "report_id": "the report",
    "via_shared_system": "sent through the shared reporting system",
    "inspection_id": "the inspection",
    "digital": "done through digital means",
    "program": "basic_digital_skills or data_analytics",
    "indicator": "criterion id the observation is for (C06…C21, E01, E02)",
    "numerator": "0 ≤ numerator ≤ denominator (a boolean: 1/1 or 0/1)",
    "denominator": "the total observed",
    "actor": "actor.account.name is the staff_id",
    "verb": "ADL completed or passed",
    "object": "an activity mapped to a training program by config",
    "timestamp": "when it happened: the event time",
    "error": "why nothing of the request was accepted",
    "errors": "each invalid event's index and reason",
    "reason": "what is wrong with that event",
}
CLOUD_EVENT_EXAMPLE = {
    "specversion": "1.0",
    "id": "dvc-2025-000123",
    "source": "https://dichvucong.tuyenquang.gov.vn",
    "type": "vn.thidua.dvc.dossier.received",
    "time": "2025-08-03T09:15:00+07:00",
    "datacontenttype": "application/json",
    "data": {
        "dossier_id": "000.00.12.H59-250803-0001",
        "unit_id": "so-tttt",
        "procedure_id": "1.001234",
        "channel": "online_full",
    },
}
XAPI_EXAMPLE = {
    "actor": {"account": {"homePage": "https://lms.tuyenquang.gov.vn", "name": "cb-000123"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "https://lms.tuyenquang.gov.vn/course/ky-nang-so-co-ban"},
    "timestamp": "2025-06-10T14:00:00+07:00",
}
EDXML_EXAMPLE = """<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
  <edXML:edXMLHeader><edXML:MessageHeader>
    <edXML:From><edXML:OrganId>000.00.12.H59</edXML:OrganId></edXML:From>
    <edXML:To><edXML:OrganId>000.00.13.H59</edXML:OrganId></edXML:To>
    <edXML:DocumentId>000.00.12.H59,2025/08/03,123</edXML:DocumentId>
  </edXML:MessageHeader></edXML:edXMLHeader>
  <edXML:edXMLBody/>
</edXML:edXMLEnvelope>"""
_REQUEST_EXAMPLES = {
    ("/v1/events", "application/cloudevents+json"): CLOUD_EVENT_EXAMPLE,
    ("/v1/events", "application/cloudevents-batch+json"): [CLOUD_EVENT_EXAMPLE],
    ("/v1/events", "application/json"): CLOUD_EVENT_EXAMPLE["data"],
    ("/v1/xapi/statements", "application/json"): XAPI_EXAMPLE,
    ("/v1/edxml", "application/xml"): EDXML_EXAMPLE,
}
METRICS_EXAMPLE = (
    "# HELP thidua_ingest_events_total Events accepted\n"
    "# TYPE thidua_ingest_events_total counter\n"
    'thidua_ingest_events_total{source="dvc",type="vn.thidua.dvc.dossier.received"} 1234.0\n'
)
_RESPONSE_EXAMPLES: dict[str, Any] = {
    "202": {"accepted": 1},
    "422": {"error": "1 invalid event", "errors": [{"index": 0, "reason": "data.channel: …"}]},
    "401": {"error": "a bearer token is required", "errors": []},
}


def finish_document(document: dict[str, Any]) -> None:
    """Field descriptions, a request example per body and an example per answer."""
    from thidua.docs import describe_properties, inline_examples, operations

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    describe_properties(schemas, FIELD_DOCS)
    for path, _method, operation in operations(document):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            example = _REQUEST_EXAMPLES.get((path, media_type))
            if example is not None:
                media.setdefault("example", example)
        for status, response in operation.get("responses", {}).items():
            for media in response.get("content", {}).values():
                if status in _RESPONSE_EXAMPLES and "example" not in media:
                    media["example"] = _RESPONSE_EXAMPLES[status]
                elif status == "200" and path == "/metrics":
                    media.setdefault("example", METRICS_EXAMPLE)
                elif status == "200" and path in ("/healthz", "/readyz"):
                    media.setdefault("example", {"status": "ok" if path == "/healthz" else "ready"})
    inline_examples(document)
