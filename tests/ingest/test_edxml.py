"""edXML (QCVN 102:2016) → document.sent: pure checks, including hostile XML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.ingest.cloudevents import MalformedRequest, PendingEvent, Problem
from services.ingest.edxml import EdxmlMessage, HostileXml, parse_message, to_event

PAYLOADS = Path(__file__).parent / "payloads"
SIGNED = (PAYLOADS / "edxml-signed.xml").read_bytes()
UNSIGNED = (PAYLOADS / "edxml-unsigned.xml").read_bytes()
ORGANS = {"000.00.12.H56": "sotttt", "000.00.13.H56": "sonoivu"}
VN = timezone(timedelta(hours=7))


def test_signed_message() -> None:
    message = parse_message(SIGNED)
    assert isinstance(message, EdxmlMessage)
    assert message.signed
    assert message.from_organ == "000.00.12.H56"
    assert message.to_organs == ("000.00.13.H56", "000.00.00.G22")
    assert message.time == datetime(2025, 3, 14, 15, 42, 10, tzinfo=VN)
    event = to_event(message, ORGANS, "/edxml/edoc")
    assert isinstance(event, PendingEvent)
    assert event.id == "000.00.12.H56,2025/03/14,215/STTTT-CĐS"
    assert event.data == {
        "document_id": "000.00.12.H56,2025/03/14,215/STTTT-CĐS",
        "from_unit": "sotttt",
        "to_units": ["sonoivu"],  # the ministry is outside the province's registry
        "electronic": True,
        "digitally_signed": True,
        "confidential": False,
    }


def test_unsigned_message_falls_back_to_promulgation_date() -> None:
    message = parse_message(UNSIGNED)
    assert isinstance(message, EdxmlMessage)
    assert not message.signed
    assert message.time == datetime(2025, 3, 14, tzinfo=VN)
    event = to_event(message, ORGANS, "/edxml/edoc")
    assert isinstance(event, PendingEvent) and event.data["digitally_signed"] is False


def test_empty_signature_value_is_not_a_signature() -> None:
    body = SIGNED.replace(
        b"<SignatureValue>MEUCIQDx2kM3f9m0b3ZlY2I3ZWQ4YzA2YTk1ZjM0YmI1MWI3ZGI3YzY4ZWI0NmE=",
        b"<SignatureValue>",
    )
    message = parse_message(body)
    assert isinstance(message, EdxmlMessage) and not message.signed


def test_unknown_sender_organ_is_invalid() -> None:
    message = parse_message(SIGNED)
    assert isinstance(message, EdxmlMessage)
    problem = to_event(message, {}, "/edxml/edoc")
    assert isinstance(problem, Problem) and "unknown OrganId" in problem.reason


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"<root/>", "edXMLEnvelope"),
        (
            SIGNED.replace(b"<edXML:DocumentId>", b"<edXML:Other>").replace(
                b"</edXML:DocumentId>", b"</edXML:Other>"
            ),
            "DocumentId",
        ),
        (SIGNED.replace(b"2025/03/14 15:42:10", "hôm nay".encode()), "Timestamp"),
    ],
)
def test_incomplete_envelopes_are_problems(body: bytes, fragment: str) -> None:
    problem = parse_message(body)
    assert isinstance(problem, Problem) and fragment in problem.reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML:edXMLEnvelope>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://attacker.example/evil.dtd"><foo/>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, EXTERNAL_DTD])
def test_hostile_xml_is_refused_before_expansion(body: bytes) -> None:
    with pytest.raises(HostileXml):
        parse_message(body)


@pytest.mark.parametrize("body", [b"", b"<a>", b"not xml", b"\xff\xfe<"])
def test_malformed_xml(body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_message(body)
