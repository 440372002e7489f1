"""Layers point one way — base (``thidua``) ← services ← tools — and no service imports
another: import-linter's contracts in ``pyproject.toml``, checked on the real import graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ("base <- services <- tools", "services do not import each other")


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout, done.stdout


def test_a_service_to_service_import_is_caught(tmp_path: Path) -> None:
    """The same contracts over a copy with one forbidden import: the check can fail."""
    for package in ("thidua", "services", "tools"):
        subprocess.run(["cp", "-r", str(ROOT / package), str(tmp_path)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    with (tmp_path / "services" / "api" / "metrics.py").open("a") as f:
        f.write("\nfrom services.writer import rows  # noqa\n")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "services do not import each other BROKEN" in done.stdout, done.stdout
