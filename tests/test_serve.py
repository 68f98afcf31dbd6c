"""`talkroom serve`: the console in a real headless Chromium, the URL's token, loopback by
default, one watcher for the host however many browser sessions there are."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkroom.core.paths import Root
from talkroom.serve import console_command, is_loopback
from tests.browser import Browser, stop_group
from tests.conftest import run_talkroom
from tests.test_search_export import chromium

TOPIC = "browser moderation works"


class Served:
    """`talkroom serve` as a real process: its URL, and its output as it comes."""

    def __init__(self, root: Path, *args: str, before: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "talkroom", "--root", str(root), *before, "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its consoles join its group: none may outlive it
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self.wait_for(r"^\s+(http://\S+/)$").group(1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, deadline: float = 60.0) -> re.Match[str]:
        """The first line of output (from the start) that matches `pattern`."""
        end = time.monotonic() + deadline
        while True:
            for line in self.out:
                if found := re.search(pattern, line):
                    return found
            try:
                self.out.append(self.lines.get(timeout=max(0.01, end - time.monotonic())))
            except queue.Empty:
                self.stop()
                raise AssertionError(
                    f"serve never printed {pattern!r}; out={self.out} err={self.err}"
                ) from None

    def stop(self) -> int:
        """SIGTERM, as Ctrl+C or a service manager would; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_group(self.proc)
        assert self.proc.stderr is not None
        self.err = self.proc.stderr.read()
        self._reader.join(timeout=30)
        while not self.lines.empty():
            self.out.append(self.lines.get())
        return self.proc.returncode

    def group_alive(self) -> bool:
        """Whether any process of its group (its consoles) still runs."""
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.fixture
def served_root(root: Root) -> Iterator[Root]:
    """A root with one conversation in progress, `beta` next."""
    opened = run_talkroom(
        "--root",
        str(root.path),
        "open",
        "--as",
        "alpha",
        "--with",
        "beta",
        "--topic",
        TOPIC,
        "--body",
        "shall we?",
    )
    assert opened.returncode == 0, opened.stderr
    yield root


def get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """Status, headers and text of one GET."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


async def test_a_key_pressed_in_the_browser_pauses_the_conversation_in_its_file(
    served_root: Root, tmp_path: Path
) -> None:
    executable = chromium()  # skips, saying so, where chromium is not installed
    conv_file = next(served_root.conversations.glob("*.md"))
    server = Served(served_root.path, "--port", "0")
    browser = Browser(executable, tmp_path / "profile")
    try:
        await browser.attach()
        await browser.send("Page.navigate", url=server.url)
        screen = await browser.wait_for_text(TOPIC)
        # The served console found this host's watcher running: the server's, one for
        # the host however many tabs are open.
        screen = await browser.wait_for_text(f"pid {server.proc.pid} elsewhere")
        await browser.focus_terminal()
        await browser.press("p")
        await browser.wait_for_text("why (optional")
        await browser.type("from a browser")
        await browser.press("Enter")
        end = time.monotonic() + 60
        text = conv_file.read_text(encoding="utf-8")
        while "PAUSED" not in text.split("\n---\n", 1)[0] and time.monotonic() < end:
            time.sleep(0.1)
            text = conv_file.read_text(encoding="utf-8")
        header, blocks = text.split("\n---\n", 1)
        assert re.search(r"(?m)^status: PAUSED$", header), (text, screen)
        assert re.search(r"(?m)^paused reason: from a browser$", header), text
        moderator = blocks.rsplit("\n## ", 1)[1]
        assert moderator.startswith("Moderator -- mod @"), text
        assert "Action: pause\n" in moderator and "from a browser" in moderator, text
    finally:
        await browser.close()
        code = server.stop()
    assert code == 0, server.err
    end = time.monotonic() + 30
    while server.group_alive() and time.monotonic() < end:
        time.sleep(0.1)
    assert not server.group_alive()  # the browser session's console went with the server
    assert "watcher for host test-host stopped" in "\n".join(server.out)


def test_every_url_needs_the_token_and_a_foreign_page_cannot_drive_the_console(
    served_root: Root,
) -> None:
    # --host before the command names this host for the watcher; after it, the address.
    server = Served(
        served_root.path, "--host", "127.0.0.1", "--port", "0", before=("--host", "box-1")
    )
    try:
        found = re.match(r"http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]{32})/$", server.url)
        assert found, server.url
        port, token = found.groups()
        status, headers, page = get(server.url)
        assert status == 200
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert f"ws://127.0.0.1:{port}/{token}/ws" in page
        for path in ("/", "/ws", "/static/js/textual.js", f"/{token[:-1]}/", f"/{token}x/"):
            assert get(f"http://127.0.0.1:{port}{path}")[0] == 404, path
        status, _, _ = get(f"{server.url}ws", Origin="http://evil.example")
        assert status == 403
        assert get(f"{server.url}static/js/textual.js")[0] == 200
        server.wait_for(r"started: watching .* for host box-1 ")
    finally:
        code = server.stop()
    assert code == 0, server.err
    assert server.err == ""  # loopback: no warning


def test_a_non_loopback_address_is_served_with_a_one_line_warning(served_root: Root) -> None:
    server = Served(served_root.path, "--host", "0.0.0.0", "--port", "0", "--no-watch")
    try:
        assert not server.url.startswith("http://0.0.0.0"), server.url  # a name to reach
    finally:
        code = server.stop()
    assert code == 0
    warnings = server.err.strip().splitlines()
    assert len(warnings) == 1, server.err
    assert warnings[0].startswith("talkroom: warning: serving on 0.0.0.0, not loopback")
    assert not any("watching" in line for line in server.out)  # --no-watch: no watcher


def test_a_bad_port_or_address_is_one_line(root: Root) -> None:
    for args, words in (
        (("--port", "70000"), "--port must be between 0 and 65535"),
        (("--host", "no.such.host.invalid", "--port", "0"), "cannot listen on"),
        (("--host", "", "--port", "0"), "--host is empty"),
    ):
        result = run_talkroom("--root", str(root.path), "serve", *args)
        err = result.stderr.decode()
        assert result.returncode != 0 and err.count("\n") == 1 and words in err, (args, err)


def test_loopback_and_the_session_command(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.3.4.5") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.org") and not is_loopback("::")
    odd = Root(tmp_path / "a b" / "it's $HOME `x`", "test")
    command = console_command(odd, "h-1", watch=True, poll=True, interval=0.5)
    assert shlex.split(command) == [
        sys.executable,
        "-m",
        "talkroom",
        "--root",
        str(odd.path),
        "--host",
        "h-1",
        "--poll",
        "--interval",
        "0.5",
    ]
    assert "--no-watch" in console_command(odd, "h", watch=False, poll=False, interval=None)
