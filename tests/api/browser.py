"""Headless Debian Chromium driven over the Chrome DevTools Protocol — no extra packages
(``websockets`` comes with uvicorn[standard]). Reusable by the end-to-end test:
``dashboard_ranking_text(url)`` or ``with DashboardPage(url) as page: …``."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)
# rank | name | score | criteria met (the rank change and the notes under a name left out)
RANKING_JS = (
    "(() => { const rows = [...document.querySelectorAll('#ranking tbody tr[data-unit]')];"
    " return rows.map(r => [r.cells[0], r.querySelector('.unit-title'), r.cells[3], r.cells[4]]"
    ".map(c => c.innerText.trim()).join(' | ')).join('\\n'); })()"
)


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DashboardPage:
    """One headless Chromium with one page open at ``url``."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("Debian chromium is not installed (apt-get install chromium)")
        self.url = url
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="thidua-chromium-")
        self._port = _free_port()
        self._process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
             f"--remote-debugging-port={self._port}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self.console: list[str] = []  # errors the page logged (CSP violations, exceptions)

    def __enter__(self) -> DashboardPage:
        target = self._page_target()
        self._ws = connect(target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call("Page.navigate", url=self.url)
        self.wait_for("document.readyState === 'complete'")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            self._ws.close()
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _page_target(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self._port}/json/list", timeout=2
                ) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages:
                    return pages[0]  # type: ignore[no-any-return]
            except OSError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools endpoint")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._note(reply)
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]

    def _note(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method == "Runtime.exceptionThrown":
            self.console.append(str(message["params"]["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and message["params"]["entry"].get("level") == "error":
            self.console.append(str(message["params"]["entry"].get("text")))
        elif method == "Runtime.consoleAPICalled" and message["params"].get("type") == "error":
            self.console.append(str(message["params"].get("args")))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {timeout or self.timeout}s: {expression}")
            time.sleep(0.1)

    def ranking_text(self) -> str:
        """The ranking table as shown: one line per unit, cells joined by ' | '."""
        return str(self.evaluate(RANKING_JS))

    def wait_for_ranking(self) -> str:
        self.wait_for("document.querySelectorAll('#ranking tbody tr[data-unit]').length > 0")
        return self.ranking_text()

    def updates(self) -> int:
        return int(self.evaluate("Number(document.body.dataset.updates || 0)"))

    def resize(self, width: int, height: int = 900) -> None:
        """A phone-sized viewport (``mobile`` metrics), then the page again."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width, height=height, deviceScaleFactor=1, mobile=True,
        )  # fmt: skip
        self.call("Page.reload", ignoreCache=True)
        time.sleep(0.2)
        self.wait_for("document.readyState === 'complete'")

    def screenshot(
        self, path: Path, selector: str | None = None, scale: float = 1.0, height: int = 0
    ) -> Path:
        """The whole page, or the element ``selector`` picks (its first ``height`` pixels when
        given); ``scale`` < 1 for a small copy (the README's)."""
        if selector is None:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            box = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
        else:
            box = self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY,"
                " width: r.width, height: r.height}; })()"
            )
        if height:
            box["height"] = min(box["height"], height)
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={**box, "scale": scale},
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def dashboard_ranking_text(url: str) -> str:
    """Open the dashboard at ``url`` and return its ranking once shown."""
    with DashboardPage(url) as page:
        return page.wait_for_ranking()
