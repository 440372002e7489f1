"""The README's configuration table lists every setting of every service."""

from __future__ import annotations

import inspect
from pathlib import Path

from pydantic_settings import BaseSettings

import services.notify.settings
import services.writer.main
import thidua.settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    modules = (thidua.settings, services.notify.settings, services.writer.main)
    classes = {
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls is not BaseSettings
    }
    fields = {name for cls in classes for name in cls.model_fields}
    assert len(fields) > 30
    missing = sorted(
        f"THIDUA_{name.upper()}" for name in fields if f"THIDUA_{name.upper()}`" not in README
    )
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    head = README.split("\n## ")[0]
    assert "bash scripts/run.sh" in head and "bash scripts/test.sh" in head
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
