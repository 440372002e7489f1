"""The development tokens documented in config/ingest-sources.example.yaml."""

from __future__ import annotations

_BY_PREFIX = {
    "vn.thidua.unit.": "thidua-dev-registry-token",
    "vn.thidua.staff.": "thidua-dev-registry-token",
    "vn.thidua.dvc.": "thidua-dev-dvc-token",
    "vn.thidua.edoc.": "thidua-dev-edoc-token",
    "vn.thidua.training.": "thidua-dev-lms-token",
    "vn.thidua.indicator.": "thidua-dev-indicator-token",
}
SIMULATOR_TOKEN = "thidua-dev-simulator-token"


def dev_token(event_type: str) -> str:
    """The token of the source system that may send ``event_type``."""
    for prefix, token in _BY_PREFIX.items():
        if event_type.startswith(prefix):
            return token
    raise KeyError(event_type)
