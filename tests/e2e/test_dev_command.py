"""``platform-dev``: the local Airflow starts from the console script, serves the UI, and stops on Ctrl-C.

The UI's DAG list is screenshotted in headless Chromium (Debian package ``chromium``), driven over the
DevTools protocol: the JWT from ``POST /auth/token`` (with the admin password the command printed) is
set as the UI's ``_token`` cookie, exactly what the FAB login form does in a browser.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from platform_devkit.loopback.base import free_port, port_open

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
)
EXPECTED_DAGS = ("enterprise_ml_pipeline", "xcom_patterns", "branching_pipeline")
PASSWORD_LINE = re.compile(r"password:\s+(\S+)")
USER_LINE = re.compile(r"user:\s+(\S+)")


class DevCommand:
    """The ``platform-dev`` console script running in a child process, its output collected."""

    def __init__(self, port: int) -> None:
        script = Path(sys.executable).with_name("platform-dev")
        self.port = port
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(script), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait until a printed line matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := pattern.search(line):
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"platform-dev did not print {pattern.pattern!r}; output:\n{self.output}")

    def interrupt(self, timeout: float = 90) -> int:
        """Press Ctrl-C and wait for a clean exit; return the exit code."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


@pytest.fixture(scope="module")
def dev_command(stop_e2e_airflow: None) -> Iterator[DevCommand]:
    """Start ``platform-dev`` on a free port (its own PostgreSQL and Redis), stop it afterwards.

    The session's end-to-end Airflow is stopped first: this test runs last, and on 2 cores two idle
    Airflow deployments slow each other down.
    """
    command = DevCommand(free_port())
    try:
        yield command
    finally:
        if command.process.poll() is None:
            command.interrupt()


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def png_distinct_bytes(data: bytes) -> int:
    """Count the distinct byte values of the decompressed image data (a blank page has very few)."""
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return len(set(zlib.decompress(b"".join(chunks))))


class DevTools:
    """A minimal Chrome DevTools Protocol session on one page."""

    def __init__(self, websocket_url: str) -> None:
        self._socket = connect(websocket_url, max_size=None, open_timeout=30)
        self._next_id = 0

    def call(self, method: str, **params: object) -> dict:
        """Send a command and return its result (events in between are skipped)."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> object:
        """Evaluate JavaScript in the page and return its value."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        """Close the session."""
        self._socket.close()


@contextlib.contextmanager
def headless_chromium() -> Iterator[DevTools]:
    """Start headless Chromium with remote debugging; yield a DevTools session on its page."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium)", pytrace=False)
    profile = Path(tempfile.mkdtemp(prefix="platform-chromium-"))
    port = free_port()
    browser = subprocess.Popen(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        pages: list[dict] = []
        while time.monotonic() < deadline and not pages:
            with contextlib.suppress(httpx.HTTPError):
                pages = [
                    t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"
                ]
            time.sleep(0.3)
        assert pages, "Chromium did not open its DevTools endpoint"
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        try:
            yield tools
        finally:
            tools.close()
    finally:
        browser.terminate()
        browser.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


def test_dev_command_serves_the_ui_and_stops_cleanly(
    dev_command: DevCommand, tmp_path: Path, e2e_timings: dict[str, float]
) -> None:
    password = dev_command.wait_for(PASSWORD_LINE, timeout=420).group(1)
    e2e_timings["dev_command_to_login_printed_s"] = time.monotonic() - dev_command.started
    username = dev_command.wait_for(USER_LINE, timeout=5).group(1)
    assert dev_command.output.count(password) == 1, "the generated password must be printed once"
    base = f"http://localhost:{dev_command.port}"

    index = httpx.get(f"{base}/", follow_redirects=True, timeout=30)
    assert index.status_code == 200
    assert "<html" in index.text.lower()
    token = httpx.post(f"{base}/auth/token", json={"username": username, "password": password}, timeout=30)
    assert token.status_code == 201
    jwt = token.json()["access_token"]
    headers = {"Authorization": f"Bearer {jwt}"}
    deadline = time.monotonic() + 240
    dag_ids: set[str] = set()
    while time.monotonic() < deadline and not set(EXPECTED_DAGS) <= dag_ids:
        dags = httpx.get(f"{base}/api/v2/dags", params={"limit": 100}, headers=headers, timeout=30).json()
        dag_ids = {dag["dag_id"] for dag in dags["dags"]}
        time.sleep(2)
    assert set(EXPECTED_DAGS) <= dag_ids, dag_ids

    screenshot = tmp_path / "dag-list.png"
    with headless_chromium() as browser:
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="_token", value=jwt, url=f"{base}/", path="/")
        browser.call(
            "Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1, mobile=False
        )
        browser.call("Page.enable")
        browser.call("Page.navigate", url=f"{base}/dags")
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and not all(dag_id in text for dag_id in EXPECTED_DAGS):
            time.sleep(1)
            text = str(browser.evaluate("document.body ? document.body.innerText : ''"))
        html = str(browser.evaluate("document.documentElement.outerHTML"))
        png = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    screenshot.write_bytes(png)
    e2e_timings["dev_command_to_screenshot_s"] = time.monotonic() - dev_command.started
    for dag_id in EXPECTED_DAGS:
        assert dag_id in html, f"{dag_id} not on the DAG list page; page text: {text[:2000]}"
    assert png_size(png) == (1280, 800)
    assert len(png) > 20_000
    assert png_distinct_bytes(png) > 64

    assert dev_command.interrupt() == 0, dev_command.output
    assert "stopped." in dev_command.output
    assert not port_open("127.0.0.1", dev_command.port)
