"""Start the stack's processes, wait until they are ready, and stop them all cleanly.

Every child runs in its own session (process group), so stopping kills the group: nothing the
child spawned survives, and no port stays bound after ``stop_all``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Child:
    name: str
    argv: list[str]
    ready_url: str | None
    env: dict[str, str] = field(default_factory=dict)
    log_file: Path | None = None  # None: the child writes to our terminal
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def thidua_argv(*args: str) -> list[str]:
    """Run the console script through the current interpreter (works inside any venv)."""
    return [sys.executable, "-m", "tools.cli", *args]


def spawn(child: Child, base_env: Mapping[str, str]) -> Child:
    env = {**os.environ, **base_env, **child.env}
    out = child.log_file.open("ab") if child.log_file else None
    child.process = subprocess.Popen(
        child.argv,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )
    return child


def wait_ready(child: Child, timeout: float, progress: Callable[[str], None]) -> None:
    if child.ready_url is None:
        return
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        assert child.process is not None
        if child.process.poll() is not None:
            raise RuntimeError(
                f"{child.name} exited with {child.process.returncode}; see {child.log_file}"
            )
        try:
            response = httpx.get(child.ready_url, timeout=2.0)
            if response.status_code == 200:
                progress(f"  ✓ {child.name} ready ({child.ready_url})")
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = type(exc).__name__
        time.sleep(0.5)
    raise RuntimeError(
        f"{child.name} not ready after {timeout:.0f}s ({last_error}); see {child.log_file}"
    )


def stop_all(children: list[Child], timeout: float = 20.0) -> None:
    """SIGTERM every group, wait, then SIGKILL what is left."""
    live = [c for c in children if c.process and c.process.poll() is None]
    for child in live:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in live:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.process.wait(timeout=5)
    for child in children:
        # Grandchildren left in the group (if any) go too.
        _signal_group(child, signal.SIGKILL)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
