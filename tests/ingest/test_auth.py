"""Source systems and tokens: pure checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.auth import AuthConfigError, authenticator_from, load_sources, sha256_hex
from tests.ingest.conftest import SOURCES_FILE
from thidua.contracts.events import EventType


def test_example_file_binds_each_dev_token_to_its_types() -> None:
    auth = authenticator_from(SOURCES_FILE, open_mode=False)
    dvc = auth.identify("Bearer thidua-dev-dvc-token")
    assert dvc is not None and dvc.name == "dvc-portal"
    assert dvc.may_send(EventType.DOSSIER_RATED)
    assert not dvc.may_send(EventType.STAFF_UPSERTED)
    assert not dvc.xapi and not dvc.edxml
    lms = auth.identify("bearer thidua-dev-lms-token")
    assert lms is not None and lms.xapi


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dGhpZHVh", "Bearer wrong-token", "thidua-dev-dvc-token"],
)
def test_missing_or_wrong_tokens_are_unknown(header: str | None) -> None:
    assert authenticator_from(SOURCES_FILE, open_mode=False).identify(header) is None


def test_token_from_environment_and_source_globs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_TOKEN", "a-long-enough-production-token")
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - name: dvc\n    token_env: DVC_TOKEN\n    types: ['vn.thidua.dvc.*']\n"
        "    ce_sources: ['/dvc/*']\n"
        f"  - name: other\n    token_sha256: {sha256_hex('another-token-of-16+')}\n"
    )
    systems = load_sources(path)
    assert systems[0].token_sha256 == sha256_hex("a-long-enough-production-token")
    assert systems[0].may_use_source("/dvc/portal") and not systems[0].may_use_source("/edoc")
    # no ce_sources: bound to none (the default is no longer '*')
    assert systems[1].types == () and not systems[1].may_use_source("anything")


@pytest.mark.parametrize(
    "text",
    [
        "sources: []\n",
        "sources:\n  - name: x\n    token_sha256: abc\n",
        "sources:\n  - name: x\n    token_env: UNSET_TOKEN_VAR\n",
        "sources:\n  - token_sha256: " + "a" * 64 + "\n",
        # types without the CloudEvents sources they may be sent as
        "sources:\n  - name: x\n    token_sha256: " + "a" * 64 + "\n    types: ['*']\n",
        "[",
    ],
)
def test_unusable_files_refuse_to_start(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    with pytest.raises(AuthConfigError):
        load_sources(path)


def test_no_file_needs_explicit_open_mode() -> None:
    with pytest.raises(AuthConfigError):
        authenticator_from(None, open_mode=False)
    assert authenticator_from(None, open_mode=True).identify(None) is not None
