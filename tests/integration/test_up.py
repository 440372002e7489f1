"""`thidua up` starts everything, and Ctrl-C leaves no process and no port behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import free_port, free_port_pair

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def processes_with(marker: str) -> list[int]:
    """Pids whose environment carries ``marker`` (every child of `up` inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_runs_the_stack_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("API", "INGEST", "SCORING", "NOTIFY")}
    ports["KAFKA"] = free_port_pair()  # its controller listens on the next port
    marker = f"THIDUA_UP_TEST_MARKER={tmp_path.name}"
    env = {
        **os.environ,
        "THIDUA_UP_TEST_MARKER": tmp_path.name,
        "THIDUA_VAR_DIR": str(tmp_path / "var"),
        "THIDUA_LOCAL_KAFKA_PORT": str(ports["KAFKA"]),
        "THIDUA_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['KAFKA']}",
        "THIDUA_API_PORT": str(ports["API"]),
        "THIDUA_INGEST_PORT": str(ports["INGEST"]),
        "THIDUA_SCORING_PORT": str(ports["SCORING"]),
        "THIDUA_NOTIFY_PORT": str(ports["NOTIFY"]),
        "THIDUA_SIMULATE_SCALE": "0.05",
    }
    log = (tmp_path / "up.log").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "up"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        ranked = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                body = httpx.get(
                    f"http://127.0.0.1:{ports['API']}/v1/rankings",
                    params={"tier": "commune", "period": "rolling-30d"},
                    timeout=3,
                ).json()
                ranked = bool(body.get("items")) and any(i["score"] > 0 for i in body["items"])
            except (httpx.HTTPError, ValueError):
                pass
            if ranked:
                break
            time.sleep(1)
        log.seek(0)
        output = log.read().decode(errors="replace")
        assert ranked, f"no ranking served; output:\n{output[-4000:]}"
        assert "Dashboard" in output and "Ctrl-C" in output
        # the local write token: printed, kept for `thidua recompute`, and the api takes it
        token = (tmp_path / "var" / "api-write-token").read_text().strip()
        assert f"Write token    {token}" in output
        silences = f"http://127.0.0.1:{ports['API']}/v1/silences/none"
        assert httpx.delete(silences, timeout=5).status_code == 401
        bearer = {"authorization": f"Bearer {token}"}
        assert httpx.delete(silences, headers=bearer, timeout=5).status_code == 404
        assert len(processes_with(marker)) >= 5  # up, kafka, api, ingest, scoring, notify
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    time.sleep(1.0)
    assert processes_with(marker) == []
    assert [p for p, port in ports.items() if listening(port)] == []
    log.seek(0)
    assert "no process left running" in log.read().decode(errors="replace")
