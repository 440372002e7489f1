"""The locks match pyproject.toml: a dependency added, removed or re-ranged there without
`bash scripts/lock.sh` fails here, before an install from a stale lock hides it (scripts/setup.sh
and the Dockerfile install the locks, never pyproject.toml's ranges)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "thidua-cds (pyproject.toml)"  # how uv names pyproject.toml in its "# via" notes
# Linux x86_64, CPython 3.11: what the locks are resolved for (scripts/lock.sh).
TARGET = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


@dataclass
class Pin:
    version: Version
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (ROOT / name).read_text().splitlines():
        if not line.strip() or (line.startswith("#") and current is None):
            continue
        if not line[0].isspace():
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)( \\)?", line)
            assert match, f"{name}: not an exact pin: {line!r}"
            current = pins.setdefault(canonicalize_name(match[1]), Pin(Version(match[2])))
            continue
        assert current is not None, f"{name}: {line!r} before any pin"
        text = line.strip().removesuffix("\\").strip()
        if text.startswith("--hash="):
            current.hashes.append(text.removeprefix("--hash="))
        elif text.startswith("#"):
            current.via.append(text.lstrip("#").strip().removeprefix("via").strip())
    return pins


def requirements() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    test = [Requirement(r) for r in project["optional-dependencies"]["test"]]

    def applies(req: Requirement) -> bool:
        return req.marker is None or req.marker.evaluate(TARGET)

    return [r for r in runtime if applies(r)], [r for r in test if applies(r)]


RUNTIME, TEST = requirements()
LOCKS = {
    "requirements.lock": RUNTIME,
    "requirements-test.lock": RUNTIME + TEST,
}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_dependency_is_locked_within_its_range(lock: str) -> None:
    pins = read_lock(lock)
    wrong = []
    for req in LOCKS[lock]:
        pin = pins.get(canonicalize_name(req.name))
        if pin is None:
            wrong.append(f"{req}: not in {lock}")
        elif not req.specifier.contains(pin.version, prereleases=True):
            wrong.append(f"{req}: {lock} has {pin.version}")
    assert not wrong, "run `bash scripts/lock.sh`:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_was_made_from_these_dependencies(lock: str) -> None:
    """What the lock took from pyproject.toml is what pyproject.toml asks now: a dependency
    dropped from pyproject.toml leaves the lock too."""
    direct = {name for name, pin in read_lock(lock).items() if PROJECT in pin.via}
    wanted = {canonicalize_name(req.name) for req in LOCKS[lock]}
    assert direct == wanted, (
        f"run `bash scripts/lock.sh`: only in pyproject.toml {sorted(wanted - direct)}, "
        f"only in {lock} {sorted(direct - wanted)}"
    )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_hashes(lock: str) -> None:
    bare = [name for name, pin in read_lock(lock).items() if not pin.hashes]
    assert not bare, f"{lock}: no --hash for {bare} (pip --require-hashes refuses it)"
    for name, pin in read_lock(lock).items():
        for digest in pin.hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{lock}: {name} {digest}"


def test_the_stack_runs_on_the_versions_it_is_tested_on() -> None:
    """The Dockerfile installs requirements.lock, the tests run on requirements-test.lock: each
    package in both is at the same version in both."""
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    differ = {
        name: (str(pin.version), str(test[name].version) if name in test else None)
        for name, pin in runtime.items()
        if name not in test or test[name].version != pin.version
    }
    assert not differ, f"requirements.lock vs requirements-test.lock: {differ}"
