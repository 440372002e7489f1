"""edXML messages (QCVN 102:2016/BTTTT) → ``vn.thidua.edoc.document.sent``.

Fields read from the envelope (namespace ``http://www.mic.gov.vn/TBT/QCVN_102_2016``)::

    edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId     → from_unit (via unit organ_ids)
    edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId (1..n) → to_units  (via unit organ_ids)
    edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId        → document_id (and the event id)
    …/MessageHeader/Code/CodeNumber + CodeNotation            → kept for error messages only
    …/TraceHeaderList/TraceHeader[OrganId = From]/Timestamp   → time (else the first trace,
    …/MessageHeader/PromulgationInfo/PromulgationDate            else the promulgation date,
                                                                  else the moment received)
    any ds:Signature (http://www.w3.org/2000/09/xmldsig#)
      with a non-empty SignatureValue                         → digitally_signed

``electronic`` is true (it travelled as edXML). ``confidential`` is false: QCVN 102 has no
secrecy field (SteeringType and OtherInfo/Priority are about direction and urgency), and
classified documents are not exchanged over the shared edXML network. The signature's presence
is recorded, not verified (verification needs the issuing CA's chain, which ingest does not have).
Unmapped To OrganIds (organs outside the province) are left out of to_units; an unmapped From
OrganId makes the message invalid (422), since the sender is the unit being scored.

Parsing is defensive: defusedxml forbids DTDs, entities and external references, and the body
is size-limited before it is parsed, so hostile XML is refused with a 4xx.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem, parse_time
from thidua.contracts.events import EventType, time_problem

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
_LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
_DATE_TIME = re.compile(r"^(\d{4})[/-](\d{2})[/-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")
_TYPE = EventType.DOCUMENT_SENT


class HostileXml(MalformedRequest):
    """DTDs, entities or external references: refused before anything is expanded."""


@dataclass(frozen=True)
class EdxmlMessage:
    document_id: str
    from_organ: str
    to_organs: tuple[str, ...]
    signed: bool
    time: datetime | None


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_message(body: bytes) -> EdxmlMessage | Problem:
    """Read one edXML envelope. Unreadable or hostile XML raises; a readable envelope that
    lacks a required field returns a Problem (422)."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise HostileXml(f"XML refused: {type(exc).__name__}") from None
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: unknown encoding
        raise MalformedRequest(f"body is not well-formed XML: {exc}") from None
    if root.tag != _q("edXMLEnvelope"):
        return Problem(0, f"root element must be edXMLEnvelope in namespace {NS}", _TYPE)
    header = root.find(f"{_q('edXMLHeader')}/{_q('MessageHeader')}")
    if header is None:
        return Problem(0, "edXMLHeader/MessageHeader is required", _TYPE)
    from_organ = _text(header.find(f"{_q('From')}/{_q('OrganId')}"))
    document_id = _text(header.find(_q("DocumentId")))
    reasons = []
    if not from_organ:
        reasons.append("MessageHeader/From/OrganId is required")
    if not document_id:
        reasons.append("MessageHeader/DocumentId is required")
    elif len(document_id) > 200:
        reasons.append("MessageHeader/DocumentId is longer than 200 characters")
    to_organs = tuple(
        organ
        for organ in (_text(e) for e in header.findall(f"{_q('To')}/{_q('OrganId')}"))
        if organ
    )
    try:
        moment = _message_time(root, header, from_organ)
    except ValueError as exc:
        reasons.append(str(exc))
        moment = None
    late = time_problem(moment, datetime.now(UTC)) if moment is not None else None
    if late:  # before the registry is asked (SPEC §7.3)
        reasons.append(late)
    if reasons:
        return Problem(0, "; ".join(reasons), _TYPE)
    return EdxmlMessage(document_id, from_organ, to_organs, _signed(root), moment)


def _signed(root: ET.Element) -> bool:
    for signature in root.iter(f"{{{DSIG}}}Signature"):
        if _text(signature.find(f"{{{DSIG}}}SignatureValue")):
            return True
    return False


def _message_time(root: ET.Element, header: ET.Element, from_organ: str) -> datetime | None:
    traces = root.findall(f".//{_q('TraceHeaderList')}/{_q('TraceHeader')}")
    sender = [t for t in traces if _text(t.find(_q("OrganId"))) == from_organ]
    for trace in sender or traces:
        stamp = _text(trace.find(_q("Timestamp")))
        if stamp:
            return _edxml_time(stamp, "TraceHeader/Timestamp")
    date = _text(header.find(f"{_q('PromulgationInfo')}/{_q('PromulgationDate')}"))
    return _edxml_time(date, "PromulgationInfo/PromulgationDate") if date else None


def _edxml_time(value: str, field: str) -> datetime:
    """edXML writes local times as ``yyyy/MM/dd HH:mm:ss`` (no offset: Vietnam, +07:00)."""
    match = _DATE_TIME.match(value)
    try:
        if match is None:
            return parse_time(value)
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=_LOCAL)
    except ValueError:
        raise ValueError(f"{field} {value[:40]!r} is not a date/time") from None


def to_event(
    message: EdxmlMessage,
    organ_units: Mapping[str, str],
    source: str,
    received_at: datetime | None = None,
) -> PendingEvent | Problem:
    from_unit = organ_units.get(message.from_organ)
    if from_unit is None:
        return Problem(0, f"unknown OrganId {message.from_organ[:100]!r} (From)", _TYPE)
    to_units = [organ_units[o] for o in message.to_organs if o in organ_units]
    received_at = received_at or datetime.now(UTC)
    late = time_problem(message.time, received_at) if message.time else None
    if late:
        return Problem(0, late, _TYPE)
    return PendingEvent(
        source=source,
        id=message.document_id,
        type=_TYPE,
        time=message.time or received_at,
        data={
            "document_id": message.document_id,
            "from_unit": from_unit,
            "to_units": to_units,
            "electronic": True,
            "digitally_signed": message.signed,
            "confidential": False,
        },
    )
