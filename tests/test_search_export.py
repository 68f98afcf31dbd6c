"""Search and export: correct matches with inert snippets; exports that hold every body
once, show hostile text as text, and render in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from talkroom import export
from talkroom.console.app import TalkroomApp
from talkroom.console.screens.finder import PickerScreen, SearchScreen
from talkroom.console.widgets.transcript import BlockView
from talkroom.core import config, store
from talkroom.core.paths import Root
from talkroom.core.search import Index, search
from tests import consoledata
from tests.conftest import run_talkroom
from tests.test_console import conv, started, wait_until
from tests.test_replay import receipts_of


def everything(root: Root) -> list:
    snaps = store.Reader().settle_all(store.conversation_files(root.conversations))
    return [s.conv for s in snaps if s.readable and s.conv is not None]


def test_search_finds_topics_bodies_participants_and_resolutions(data: Root) -> None:
    convs = everything(data)
    by_field = {(h.conv_id, h.field, h.turn) for h in search(convs, "PostgreSQL")}
    queue = conv(data, "Which queue backend?").id
    assert (queue, "body", 1) in by_field and (queue, "body", 2) in by_field
    assert (queue, "body", 4) in by_field
    assert [h.field for h in search(convs, "release")] == ["topic"]
    assert {h.conv_id for h in search(convs, "grace")} == {
        conv(data, "Logging format").id,
        conv(data, "Test runner").id,
    }
    (hit,) = search(convs, "xdist later")
    assert hit.field == "resolution" and hit.snippet == "pytest, with pytest-xdist later"
    assert search(convs, "redis persistence")[0].turn == 3  # every word, any case
    assert search(convs, "  ") == [] and search(convs, "no such words here") == []


def test_search_filters_and_inert_snippets(data: Root) -> None:
    convs = everything(data)
    assert {h.conv_id for h in search(convs, "a", status="CLOSED")} == {
        conv(data, "Test runner").id
    }
    assert all(
        h.conv_id != conv(data, "Logging format").id
        for h in search(convs, "json", participant="linus")
    )
    hits = search(convs, "pwned")
    assert hits and all("\x1b" not in h.snippet and "\x07" not in h.snippet for h in hits)
    assert "␛]0;pwned␇" in hits[0].snippet
    assert all("\n" not in h.snippet for h in search(convs, "first"))


def test_the_index_reuses_what_did_not_change(data: Root) -> None:
    index = Index()
    queue = conv(data, "Which queue backend?")
    first = index.texts(queue)
    assert index.texts(queue) is first
    from talkroom.core import moderate, ops

    ops.run(moderate.plan_moderate(data, queue.id, "inject", moderator="m", body="Zebra"), "h")
    newer = store.load(data.conversation(queue.id))
    assert index.texts(newer) is not first and index.texts(newer)[-1] == "zebra"


def test_search_command_line(data: Root) -> None:
    out = run_talkroom("--root", str(data.path), "search", "test", "--json")
    hits = json.loads(out.stdout)
    assert {h["field"] for h in hits} >= {"topic", "body", "resolution"}
    assert set(hits[0]) == {"conversation", "topic", "field", "turn", "block", "author", "snippet"}
    out = run_talkroom("--root", str(data.path), "search", "pwned")
    assert b"\x1b" not in out.stdout and "␛]0;pwned␇".encode() in out.stdout
    out = run_talkroom("--root", str(data.path), "search", "json", "--participant", "Bad Name")
    assert out.returncode == 2


@pytest.mark.asyncio
async def test_search_in_the_console_jumps_to_the_turn(data: Root) -> None:
    app = TalkroomApp(data, consoledata.HOST, config.load(env={}), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await pilot.press("4")  # only closed ones listed: the jump must still work
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        for key in "persistence":
            await pilot.press(key)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SearchScreen))
        queue = conv(data, "Which queue backend?")
        assert app.selected_id == queue.id
        found = [v for v in app.transcript.query(BlockView) if v.has_class("found")]
        assert len(found) == 1 and found[0].block.turn == 3
        await pilot.press("d")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.selected_id == conv(data, "Test runner").id)


def test_markdown_export_holds_every_body_once_and_inert(data: Root) -> None:
    for c in everything(data):
        text = export.to_markdown(c)
        assert "\x1b" not in text and "<!--" not in text and "NEXT:" not in text
        for block in c.blocks:
            if block.body:
                assert text.count(export.inert_markdown(block.body)) == 1
    hostile = export.to_markdown(conv(data, "Hostile \x1b]0;title\x07 topic"))
    assert "␛]0;pwned␇" in hostile and "[bold red]not bold[/]" in hostile
    closed = export.to_markdown(conv(data, "Test runner"))
    assert closed.startswith("# Test runner\n\n**Resolution:** pytest, with pytest-xdist later")


def test_markdown_export_shows_raw_html_as_text_but_keeps_code() -> None:
    body = "Run <script>x</script> & see\n\n```html\n<b>kept</b>\n```\n\nand `<i>` too"
    assert export.inert_markdown(body) == (
        "Run &lt;script>x&lt;/script> &amp; see\n\n```html\n<b>kept</b>\n```\n\nand `<i>` too"
    )


def html_of(root: Root, topic: str) -> str:
    c = conv(root, topic)
    return export.to_html(c, receipts_of(root, c.id))


def test_html_export_is_inert_and_self_contained(data: Root) -> None:
    from talkroom.core import moderate, ops

    c = conv(data, "Which queue backend?")
    ops.run(
        moderate.plan_moderate(
            data,
            c.id,
            "inject",
            moderator="mod",
            body=(
                "<script>alert(1)</script> <img src=x onerror=alert(2)> "
                "![t](http://evil.example/t.png) [j](javascript:alert(3)) [ok](https://example.com)"
            ),
        ),
        "h",
    )
    page = html_of(data, "Which queue backend?")
    tags = elements(page)
    assert {t for t, _ in tags} <= SAFE_TAGS, {t for t, _ in tags} - SAFE_TAGS
    attributes = {name for _, attrs in tags for name, _ in attrs}
    assert attributes <= {
        "lang",
        "charset",
        "http-equiv",
        "content",
        "name",
        "class",
        "id",
        "href",
        "rel",
    }, attributes
    hrefs = [v for _, attrs in tags for n, v in attrs if n == "href"]
    assert hrefs[-2:] == ["http://evil.example/t.png", "https://example.com"]  # not fetched
    assert not any(h.startswith("javascript:") for h in hrefs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "default-src 'none'" in page
    assert "delivered to ada on snap-host in 0.7 s" in page  # the timeline of receipts
    assert "failed: pane gone (linus on far-host)" in page
    hostile = html_of(data, "Hostile \x1b]0;title\x07 topic")
    assert "\x1b" not in hostile and "\u202e" not in hostile and "␛]0;pwned␇" in hostile
    for block in conv(data, "Which queue backend?").blocks:
        if (block.body and block.kind != "Moderator") or block.action == "inject":
            assert page.count(export.body_html(block.body)) == 1


SAFE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "h1",
    "h2",
    "h3",
    "p",
    "strong",
    "em",
    "dl",
    "dt",
    "dd",
    "section",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "article",
    "span",
    "ul",
    "ol",
    "li",
    "pre",
    "code",
    "a",
    "footer",
    "blockquote",
    "hr",
    "br",
}


def elements(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of a page, with its attributes, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(page)
    return found


def test_export_command_line(data: Root, tmp_path: Path) -> None:
    c = conv(data, "Test runner")
    out = tmp_path / "runner.html"
    result = run_talkroom("--root", str(data.path), "export", c.id, "-o", str(out))
    assert result.returncode == 0 and out.read_text().startswith("<!doctype html>")
    md = run_talkroom("--root", str(data.path), "export", c.id, "--format", "md")
    assert md.stdout.decode().startswith("# Test runner")
    bad = run_talkroom(
        "--root", str(data.path), "export", c.id, "-o", str(tmp_path / "no" / "x.md")
    )
    assert bad.returncode == 3 and bad.stderr.decode().count("\n") == 1
    precious = tmp_path / "notes.md"
    precious.write_text("mine")
    (tmp_path / "link.md").symlink_to(precious)
    for target in (precious, tmp_path / "link.md"):
        kept = run_talkroom("--root", str(data.path), "export", c.id, "-o", str(target))
        assert kept.returncode == 2 and b"already exists" in kept.stderr
        assert precious.read_text() == "mine"
    forced = run_talkroom("--root", str(data.path), "export", c.id, "-o", str(precious), "--force")
    assert forced.returncode == 0 and precious.read_text().startswith("# Test runner")
    empty = run_talkroom("--root", str(data.path), "export", c.id, "-o", "")
    assert empty.returncode == 2 and b"-o is empty" in empty.stderr
    with open("/dev/full", "wb") as full:
        no_room = subprocess.run(
            [sys.executable, "-m", "talkroom", "--root", str(data.path), "export", c.id],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    assert no_room.returncode == 3
    assert no_room.stderr.decode().startswith("talkroom: cannot write the output: ")
    read, write = os.pipe()
    os.close(read)  # `talkroom export ID | head -c 10`, once head has gone
    try:
        gone = subprocess.run(
            [sys.executable, "-m", "talkroom", "--root", str(data.path), "export", c.id],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write)
    assert (gone.returncode, gone.stderr) == (141, b"")


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def test_the_html_export_in_a_real_headless_browser(data: Root, tmp_path: Path) -> None:
    browser = chromium()
    page = tmp_path / "decision.html"
    page.write_text(html_of(data, "Test runner"), encoding="utf-8")
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no errors, no blocked fetches, nothing logged at all
    assert 'id="resolution"' in dom.stdout
    assert "pytest, with pytest-xdist later" in dom.stdout
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1000,800",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000  # something was painted
