"""GET /v1/stream/rankings — the ranking as Server-Sent Events, pushed on every change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from services.api.deps import (
    BlockParam,
    Hub,
    PeriodParam,
    ReadAccess,
    Service,
    Settings,
    TierParam,
)
from services.api.problems import ProblemError, problem_responses
from services.api.sse import RankingsHub

router = APIRouter(prefix="/stream", tags=["stream"], dependencies=[ReadAccess])


@router.get(
    "/rankings",
    summary="Live ranking (SSE): event `rankings` now and after each recompute",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream; each `rankings` event's data is a Rankings "
            "document; `: keep-alive` comments every 15 s",
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "example": 'event: rankings\ndata: {"tier": "district", "period": "2025", '
                    '"block": null, "generated_at": "2025-11-25T22:40:07+07:00", "items": []}\n\n',
                }
            },
        },
        **problem_responses(401, 403, 422, 503),
    },
)
async def stream_rankings(
    service: Service,
    hub: Hub,
    settings: Settings,
    tier: TierParam,
    period: PeriodParam,
    block: BlockParam = None,
) -> StreamingResponse:
    async def render() -> bytes:
        view = await service.view(service.parse(period.id))
        return view.rankings_bytes(tier, block)

    if not hub.admit(settings.api_max_streams):
        raise ProblemError(503, "too-many-streams", "too many live streams; retry later")
    return _AdmittedStream(
        hub,
        hub.stream(period.id, render),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class _AdmittedStream(StreamingResponse):
    """Gives its place in the hub back when the stream ends, however it ends."""

    def __init__(self, hub: RankingsHub, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.hub.release()
