"""HTTP handlers of the national portal's format (services/ingest/dvcqg.py).

Answers follow the portal's convention so that existing clients work unchanged ([OCPS] reads
``error_code`` and treats 0 as success; [CS] ``ResultHoSoDongBoDVCQuocGia {error_code,
message}``), with SPEC §4's HTTP codes: 202 ``{"error_code": 0, "message", "accepted",
"ignored"}``; a refusal carries ``error_code`` = its HTTP status beside the usual ``error`` and
``errors: [{index, reason}]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from services.ingest import dvcqg, dvcqg_catalogue, metrics
from services.ingest.auth import SourceSystem
from services.ingest.cloudevents import MalformedRequest, Problem, media_type
from services.ingest.errors import RESPONSES, Refused
from services.ingest.registry import OrganRegistry
from services.ingest.routes import _bearer, _check_count, _state, read_body, source_system
from thidua.contracts.events import EventType

router = APIRouter(prefix="/v1/dvcqg", tags=["ingest"])
_DATES = {"type": "string", "pattern": "^[0-9]{14}$", "description": "yyyyMMddHHmmss, +07:00"}
_DOSSIER_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["MaHoSo", "MaTTHC", "TrangThaiHoSo"],
    "properties": {
        "MaHoSo": {"type": "string"},
        "MaTTHC": {"type": "string"},
        "KenhThucHien": {"type": "string", "enum": ["1", "2", "3"]},
        "TrangThaiHoSo": {"type": "string", "enum": [str(n) for n in range(1, 11)]},
        "NgayTiepNhan": _DATES,
        "NgayHenTra": _DATES,
        "NgayKetThucXuLy": _DATES,
        "DonViXuLy": {"type": "string", "description": "the unit's code (organ_ids)"},
        "HoSoCoThanhPhanSoHoa": {"type": "string", "enum": ["0", "1"]},
        "DuocThanhToanTrucTuyen": {"type": "string", "enum": ["0", "1", "2", "3"]},
    },
}
_PROCEDURE_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["MaTTHC", "MucDo"],
    "properties": {
        "MaTTHC": {"type": "string"},
        "MucDo": {"type": "string", "enum": ["2", "3", "4"]},
        "MaCoQuan": {"type": "string"},
        "DuDieuKienToanTrinh": {"type": "string", "enum": ["0", "1"]},
        "CoTrenDiDong": {"type": "string", "enum": ["0", "1"]},
        "NgayCapNhat": _DATES,
    },
}


def _body(item: dict[str, Any], service: str | None) -> dict[str, Any]:
    wrapped: dict[str, Any] = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "isUpdating": {"type": "string", "enum": ["True", "False"]},
            "madonvi": {"type": "string"},
            "data": {"type": "array", "items": item},
        },
    }
    if service:
        wrapped["properties"]["service"] = {"type": "string", "enum": [service]}
    schema = {"oneOf": [wrapped, {"type": "array", "items": item}]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_DOSSIER = EventType.DOSSIER_RECEIVED.value
_PROCEDURE = EventType.PROCEDURE_UPSERTED.value


class PortalRefused(Refused):
    """A refusal answered in the portal's shape (plus ingest's usual fields)."""

    @classmethod
    def of(cls, exc: Refused) -> PortalRefused:
        return cls(exc.status, exc.message, exc.problems, exc.source, exc.types, exc.count)

    def body(self) -> dict[str, object]:
        return {"error_code": self.status, "message": self.message, **super().body()}


class PortalAccepted(BaseModel):
    error_code: int = Field(0, description="0: accepted (the portal's convention)")
    message: str
    accepted: int = Field(description="events acknowledged by Kafka")
    ignored: int = Field(0, description="dossiers never received (TrangThaiHoSo 1 or 3)")


async def portal_source(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SourceSystem:
    try:
        return await source_system(request, credentials)
    except Refused as exc:
        raise PortalRefused.of(exc) from None


PortalSource = Annotated[SourceSystem, Depends(portal_source)]
QueryUnit = Annotated[
    str, Query(alias="MaDinhDanhDV", max_length=200, description="the sender's unit code ([CS])")
]


async def _portal(step: Callable[[], Awaitable[PortalAccepted]]) -> PortalAccepted:
    try:
        return await step()
    except PortalRefused:
        raise
    except Refused as exc:
        raise PortalRefused.of(exc) from None


async def _read_items(request: Request, system: SourceSystem, kind: str) -> dvcqg.Body:
    if not system.dvcqg:
        raise Refused(403, f"{system.name} may not send DVCQG {kind}", source=system.name)
    content_type = media_type(request.headers.get("content-type"))
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Refused(415, "DVCQG data is sent as application/json", source=system.name)
    body = await read_body(request, system)
    try:
        parsed = dvcqg.parse_body(body, dvcqg.SERVICE if kind == "dossiers" else None)
    except MalformedRequest as exc:
        raise Refused(400, str(exc), source=system.name) from None
    _check_count(request, len(parsed.items), system)
    return parsed


def _invalid(problems: list[Problem], system: SourceSystem, count: int, kind: str) -> Refused:
    problems = sorted(problems, key=lambda p: p.index)
    return Refused(
        422,
        f"{len(problems)} invalid item(s); nothing accepted",
        problems,
        system.name,
        [kind] * count,
    )


@router.post(
    "/dossiers",
    status_code=202,
    response_model=PortalAccepted,
    responses=RESPONSES,
    summary="Cổng DVC quốc gia DongBoHoSoMC dossiers (object with data[], or an array)",
    openapi_extra=_body(_DOSSIER_ITEM, dvcqg.SERVICE),
)
async def post_dossiers(
    request: Request, system: PortalSource, query_unit: QueryUnit = ""
) -> PortalAccepted:
    async def step() -> PortalAccepted:
        parsed = await _read_items(request, system, "dossiers")
        count = len(parsed.items)
        if parsed.progress:
            return _progress(parsed.items, system)
        dossiers, problems = dvcqg.read_dossiers(parsed.items, parsed.unit_code, query_unit)
        if problems:
            raise _invalid(problems, system, count, _DOSSIER)
        state = _state(request)
        if state.registry is None:
            raise Refused(503, "ingest is starting: unit registry not loaded", source=system.name)
        wait = state.settings.ingest_registry_wait_seconds
        received = [d for d in dossiers if d.received]
        organ_units = await _units(state.registry, [d.unit_codes for d in received], wait)
        problems = dvcqg.unit_problems(received, organ_units)
        if problems:  # (before waiting for the catalogue: the answer does not depend on it)
            raise _invalid(problems, system, count, _DOSSIER)
        catalogue = state.procedure_catalogue()
        online = {d.procedure_id for d in received if d.channel == 2}
        if online and not await catalogue.wait_loaded(wait):
            # Retried by the portal's clients; deciding an online channel now could be wrong.
            loading = "ingest is starting: procedure catalogue loading"
            raise Refused(503, loading, source=system.name)
        await catalogue.resolve_procedures(online, wait)
        events, problems = dvcqg.to_events(
            dossiers, organ_units, catalogue.procedures, f"/dvcqg/{system.name}"
        )
        if problems:
            raise _invalid(problems, system, count, _DOSSIER)
        accepted = await state.deliver(events, system.name)
        ignored = len(dossiers) - len(received)
        metrics.DVCQG_IGNORED.labels(system.name).inc(ignored)
        return PortalAccepted(
            message=f"Đã tiếp nhận {accepted} hồ sơ", accepted=accepted, ignored=ignored
        )

    return await _portal(step)


@router.post(
    "/procedures",
    status_code=202,
    response_model=PortalAccepted,
    responses=RESPONSES,
    summary="The portal's procedure catalogue (MaTTHC, MucDo…) → procedure.upserted",
    openapi_extra=_body(_PROCEDURE_ITEM, None),
)
async def post_procedures(request: Request, system: PortalSource) -> PortalAccepted:
    async def step() -> PortalAccepted:
        parsed = await _read_items(request, system, "procedures")
        count = len(parsed.items)
        procedures, problems = dvcqg_catalogue.read_procedures(parsed.items, parsed.unit_code)
        if problems:
            raise _invalid(problems, system, count, _PROCEDURE)
        state = _state(request)
        if state.registry is None:
            raise Refused(503, "ingest is starting: unit registry not loaded", source=system.name)
        wait = state.settings.ingest_registry_wait_seconds
        organ_units = await _units(state.registry, [p.unit_codes for p in procedures], wait)
        events, problems = dvcqg_catalogue.to_events(
            procedures, organ_units, f"/dvcqg/{system.name}"
        )
        if problems:
            raise _invalid(problems, system, count, _PROCEDURE)
        accepted = await state.deliver(events, system.name)
        return PortalAccepted(message=f"Đã tiếp nhận {accepted} thủ tục", accepted=accepted)

    return await _portal(step)


def _progress(items: list[object], system: SourceSystem) -> PortalAccepted:
    """CapNhatTienDoHoSoMC: each item must name its dossier; nothing is emitted."""
    problems = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise dvcqg.Invalid("a progress item must be a JSON object")
            dvcqg.text(item, "MaHoSo")
        except dvcqg.Invalid as exc:
            problems.append(Problem(index, str(exc)))
    if problems:
        raise _invalid(problems, system, len(items), _DOSSIER)
    metrics.DVCQG_IGNORED.labels(system.name).inc(len(items))
    return PortalAccepted(
        message="Tiến độ xử lý không dùng để tính điểm", accepted=0, ignored=len(items)
    )


async def _units(
    registry: OrganRegistry, candidates: list[tuple[str, ...]], wait: float
) -> Mapping[str, str]:
    """The OrganId map, after catching up with the registry (bounded) when some item has no
    code that is known yet: the same short wait as edXML's."""
    organ_units = registry.organ_units
    if wait > 0 and any(all(c not in organ_units for c in codes) for codes in candidates):
        await asyncio.to_thread(registry.wait_caught_up, wait)
    return registry.organ_units
