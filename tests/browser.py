"""A headless Chromium driven over the Chrome DevTools Protocol: open a page, read the
terminal that textual-serve draws in it, press keys. The websocket is aiohttp's (already
installed for textual-serve): no browser download, no driver of its own."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from tests.test_search_export import CHROMIUM_FLAGS

# Runs before any script of the page: keeps every xterm.js Terminal that the page's code
# assigns to a `.terminal` property, so the screen it shows can be read back as text (the
# page draws it on a canvas, where no DOM query can see it).
KEEP_TERMINALS = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal",
      {value, writable: true, configurable: true, enumerable: true});
    (window.__terminals = window.__terminals || []).push(value);
  },
});
"""

SCREEN_TEXT = """
(() => {
  const term = (window.__terminals || []).find(t => t && t.buffer && t.buffer.active);
  if (!term) return null;
  const buffer = term.buffer.active, lines = [];
  for (let i = 0; i < term.rows; i++) {
    const line = buffer.getLine(buffer.viewportY + i);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
})()
"""

KEYS = {
    "Enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "Escape": {"key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27},
}


class Browser:
    """One headless Chromium with one page, driven over CDP."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # /usr/bin/chromium is a script: stop its whole group
        )
        self.port = _devtools_port(profile, self.proc)
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def attach(self) -> None:
        """Connect to the page's DevTools websocket."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=30) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINALS)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """One CDP command; its result (events that arrive meanwhile are dropped)."""
        assert self._ws is not None
        call = next(self._ids)
        await self._ws.send_json({"id": call, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self._ws.receive_json(), timeout=60)
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screen(self) -> str:
        """The text of the terminal the page shows ("" before it exists)."""
        return await self.evaluate(SCREEN_TEXT) or ""

    async def wait_for_text(self, text: str, deadline: float = 60.0) -> str:
        """The screen, once it shows `text` (fails with the last screen after `deadline`)."""
        end = time.monotonic() + deadline
        shown = ""
        while time.monotonic() < end:
            shown = await self.screen()
            if text in shown:
                return shown
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page never showed {text!r}; it shows:\n{shown}")

    async def focus_terminal(self) -> None:
        """Give the keyboard to the terminal (xterm.js listens on a hidden textarea)."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")

    async def press(self, key: str) -> None:
        """Press and release one key: a named one (KEYS) or a printable character."""
        event = KEYS.get(key) or {
            "key": key,
            "text": key,
            "code": f"Key{key.upper()}" if key.isalpha() else "",
            "windowsVirtualKeyCode": ord(key.upper()),
        }
        await self.send("Input.dispatchKeyEvent", type="keyDown", **event)
        up = {k: v for k, v in event.items() if k != "text"}
        await self.send("Input.dispatchKeyEvent", type="keyUp", **up)

    async def type(self, text: str) -> None:
        """Type text as a person would, one key at a time."""
        for ch in text:
            await self.press(ch)

    async def close(self) -> None:
        """Disconnect and stop the browser (its whole process group)."""
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        stop_group(self.proc)


def _devtools_port(profile: Path, proc: subprocess.Popen[Any]) -> int:
    """The port Chromium chose (it writes it to DevToolsActivePort in the profile)."""
    marker = profile / "DevToolsActivePort"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if marker.exists():
            first = marker.read_text().split("\n", 1)[0].strip()
            if first.isdigit():
                return int(first)
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before it listened")
        time.sleep(0.05)
    stop_group(proc)
    raise RuntimeError("chromium did not open its DevTools port within 60 s")


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a process started with start_new_session=True, and everything it started."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children left behind by the group leader
    except ProcessLookupError:
        pass
