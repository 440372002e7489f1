"""`thidua up` keeps its api write token where `thidua recompute` finds it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from thidua.settings import ApiSettings, local_write_token_file


def test_up_makes_a_private_write_token_recompute_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.local.up import _local_write_token

    monkeypatch.setenv("THIDUA_VAR_DIR", str(tmp_path / "var"))
    assert ApiSettings().local_write_token() is None
    token = _local_write_token()
    assert len(token) >= 16 and ApiSettings().local_write_token() == token
    assert stat.S_IMODE(local_write_token_file().stat().st_mode) == 0o600
    assert _local_write_token() != token  # a fresh one each run
    ApiSettings(api_write_tokens=[token])  # a valid write token


@pytest.mark.parametrize("token", ["changeme", "short", "tökén-ñön-ascii-0123456789", "a b" * 9])
def test_api_tokens_must_be_real_ascii_secrets(token: str) -> None:
    with pytest.raises(ValueError):
        ApiSettings(api_write_tokens=[token])
