"""Text from files is never markup and never reaches a terminal raw: a root where every
shown field carries `[@click=app.quit]`, `[/]`, OSC 8, OSC 52 and title sequences, driven
through every screen, dialog and toast, clicked all over, and watched from a real
terminal; plus the HTML export's long words and bodies of the largest legal size."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from talkroom.console.app import TalkroomApp
from talkroom.core import config, moderate, ops
from tests import hostile
from tests.ptyterm import Terminal
from tests.test_console import settled, started, wait_until

KEYS = ["n", "i", "p", "c", "e", "o", "P", "d", "question_mark", "slash", "R", "x", "v"]


async def _click_everything(pilot: object, app: TalkroomApp) -> None:
    """Find every cell of the screen that carries a click action and click it: markup
    parsed from a file would put `app.quit` there."""
    actions: dict[str, tuple[int, int]] = {}
    width, height = app.screen.region.size
    for y in range(height):
        for x in range(width):
            style = app.screen.get_style_at(x, y)
            action = style.meta.get("@click") if style.meta else None
            if action is not None:
                actions.setdefault(str(action), (x, y))
    for action, (x, y) in actions.items():
        await pilot.click(offset=(x, y))  # type: ignore[attr-defined]
        assert app.is_running, f"clicking {action!r} at {x},{y} ended the console"
    assert not [a for a in actions if "quit" in a], actions


@pytest.mark.asyncio
async def test_markup_in_every_field_is_text_whatever_is_pressed_or_clicked(tmp_path: Path) -> None:
    root, live = hostile.build(tmp_path / "talks")
    app = TalkroomApp(root, hostile.HOST, config.load(), watch=False, moderator="mod")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        listing = app.main.listing
        listing.select_id(live)
        await pilot.pause()
        await _click_everything(pilot, app)
        for key in KEYS:
            listing.select_id(live)
            await pilot.press(key)
            await settled(pilot)
            await _click_everything(pilot, app)
            while len(app.screen_stack) > 1:
                await pilot.press("escape")
                await pilot.pause()
        # A change that needs the moderator: a toast names the hostile topic. Click it.
        ops.run(
            moderate.plan_moderate(root, live, "next", moderator="mod", next_=["moderator"]),
            hostile.HOST,
        )
        app.tailer.wake()
        # The tailer sees the change in its thread, from the real file.
        await wait_until(pilot, lambda: bool(app.query(Toast)))
        toasts = list(app.query(Toast))
        assert toasts, "no toast was shown"
        for toast in toasts:
            await pilot.click(toast)
            assert app.is_running, "clicking a toast ended the console"
        assert app.is_running and app.return_code is None


def _osc_payloads(output: bytes) -> list[str]:
    """Every OSC sequence (ESC ] or C1 OSC ... BEL, ESC \\ or ST) that carries one of our
    payloads, read as the terminal reads it: UTF-8 characters, not bytes."""
    text = output.decode("utf-8", "replace")
    sequences = re.findall("(?:\x1b\\]|\x9d)(.*?)(?:\x07|\x1b\\\\|\x9c)", text, re.S)
    return [s for s in sequences if any(p.decode() in s for p in hostile.PAYLOADS)]


def test_a_real_terminal_receives_no_sequence_from_the_files(tmp_path: Path) -> None:
    root, live = hostile.build(tmp_path / "talks")
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "TALKROOM_HOST": hostile.HOST,
    }
    term = Terminal(
        [sys.executable, "-m", "talkroom", "--root", str(root.path), "--no-watch"],
        env,
        cols=120,
        rows=40,
    )
    try:
        assert term.wait_for(b"filter (f)", 30), term.output[-2000:]
        for key in (b"n", b"i", b"p", b"c", b"P", b"d", b"?", b"/", b"R", b"v"):
            term.keys(key, 0.6)
            term.keys(b"\x1b", 0.6)
        ops.run(
            moderate.plan_moderate(root, live, "next", moderator="mod", next_=["moderator"]),
            hostile.HOST,
        )
        term.read(3.0)  # the toast, the bell
        assert term.alive(), "the console ended"
        term.keys(b"q", 2.0)
    finally:
        term.close()
    assert _osc_payloads(bytes(term.output)) == []
    assert b"pwned-title" not in term.output.split(b"\x1b]")[0]  # not even before a split
    assert b"ZWNobyBvd25lZA" in term.output  # the text was shown, as text


def test_long_words_wrap_in_the_html_export(tmp_path: Path) -> None:
    from talkroom import export
    from talkroom.core import store

    root, live = hostile.build(tmp_path / "talks")
    conv = store.load(root.conversation(live))
    conv.blocks[1].body = "x" * 200_000
    page = tmp_path / "page.html"
    page.write_text(export.to_html(conv, []), encoding="utf-8")
    from tests.test_search_export import CHROMIUM_FLAGS, chromium

    browser = chromium()
    import subprocess

    script = (
        "<script>document.title = document.documentElement.scrollWidth + 'x' + "
        "window.innerWidth</script>"
    )
    probe = tmp_path / "probe.html"
    html = page.read_text(encoding="utf-8")
    probe.write_text(
        html.replace("</body>", f"{script}</body>").replace(
            "style-src 'unsafe-inline';", "style-src 'unsafe-inline'; script-src 'unsafe-inline';"
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1024,768",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    title = re.search(r"<title>(\d+)x(\d+)</title>", result.stdout)
    assert title, result.stdout[-2000:] + result.stderr[-2000:]
    scroll, inner = int(title.group(1)), int(title.group(2))
    assert scroll <= inner + 1, f"the page is {scroll} px wide in a {inner} px window"


def test_the_largest_legal_bodies_render_in_bounded_time(tmp_path: Path) -> None:
    from rich.console import Console

    from talkroom.console.render import block_renderable
    from talkroom.core import store

    root, live = hostile.build(tmp_path / "talks")
    conv = store.load(root.conversation(live))
    block = conv.blocks[1]
    block.body = ("- a\n" * 65_000)[: 256 * 1024 - 1]  # a legal body: 256 KiB of list items
    console = Console(width=100, file=open(os.devnull, "w"), force_terminal=True)  # noqa: SIM115
    started = time.perf_counter()
    for _ in range(12):
        console.print(block_renderable(conv, block, [], time.time()))
    assert time.perf_counter() - started < 5, "twelve big bodies took too long to draw"
