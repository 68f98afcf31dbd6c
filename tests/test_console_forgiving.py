"""Second chances in the console: a stray burst of keys cannot close a conversation, the last
moderator action can be undone for a few seconds, a closed conversation can be reopened and
archived, `q` says what stops and asks, and no burst of keys crashes the console."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from talkroom.console.app import TalkroomApp
from talkroom.console.screens import forgiving
from talkroom.console.screens.dialogs import WriteDialog
from talkroom.core import archive, ops
from talkroom.core.paths import Root
from tests.consolepilot import conv, make_app, screen_text, select, settled, started, wait_until
from tests.consolepilot import written as finished


def burst(app: TalkroomApp, keys: list[str]) -> None:
    """Keys as a terminal delivers a paste or fast typing: all queued before any is handled
    (`pilot.press` waits for the app after each key, which hides what a burst does)."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        char = key if len(key) == 1 else {"space": " ", "enter": "\r", "tab": "\t"}.get(key)
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)


def text_keys(text: str) -> list[str]:
    """The key names of typed text ("cd /tmp\n")."""
    names = {" ": "space", "/": "slash", "\n": "enter", "-": "minus", ".": "full_stop"}
    return [names.get(ch, ch) for ch in text]


def toasts(app: TalkroomApp) -> list[str]:
    """Every toast's text so far."""
    return [n.message for n in app._notifications]


async def test_a_stray_shell_command_does_not_close_a_conversation(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        # Pasted in one burst: the keys that arrive before the dialog is up go nowhere.
        burst(app, text_keys("cd /tmp\nls -la\n"))
        await settled(pilot)
        await finished(pilot)
        assert conv(data, "Which queue backend?").status == "IN-PROGRESS"
        while app.screen is not app.main:  # whatever the burst opened
            app.screen.dismiss(None)
            await settled(pilot)
        # Typed at a person's pace, meant for a shell: every key reaches the dialog.
        await pilot.press(*text_keys("cd /tmp\nls -la\n"))
        await finished(pilot)
        assert isinstance(app.screen, WriteDialog)  # still asking
        assert conv(data, "Which queue backend?").status == "IN-PROGRESS"
        # Enter on the last field asked for the typed confirmation, and said so.
        assert "type close" in screen_text(app)
        await pilot.press("ctrl+s")
        await finished(pilot)
        assert conv(data, "Which queue backend?").status == "IN-PROGRESS"


async def test_close_takes_a_resolution_and_a_typed_confirmation(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("c", "enter", *text_keys("close"), "enter")
        await finished(pilot)
        assert isinstance(app.screen, WriteDialog)
        assert "say what was decided" in screen_text(app)  # no resolution, no close
        resolution = app.screen.query_one("#resolution")
        resolution.value = "PostgreSQL with SKIP LOCKED"
        app.screen.query_one("#confirm").focus()
        await pilot.press("enter")
        await finished(pilot)
        assert not isinstance(app.screen, WriteDialog)
        c = conv(data, "Which queue backend?")
        assert c.status == "CLOSED" and c.resolution == "PostgreSQL with SKIP LOCKED"
        assert any("z undoes" in t for t in toasts(app))
        # z, within the toast's time: reopened, by a block in the file.
        await pilot.press("z")
        await finished(pilot)
        c = conv(data, "Which queue backend?")
        assert c.status == "IN-PROGRESS" and c.blocks[-1].action == "reopen"
        assert c.next == ["linus"]  # who was next when it closed
        await pilot.press("z")  # nothing more to undo: the undo is spent
        await finished(pilot)
        assert conv(data, "Which queue backend?").blocks[-1].action == "reopen"


async def test_undo_pause_and_next_and_refuse_after_a_reply(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        assert app.main.check_action("undo", ()) is False  # nothing to undo: not shown
        await pilot.press("p", *text_keys("lunch"), "enter")
        await finished(pilot)
        assert conv(data, "Which queue backend?").status == "PAUSED"
        assert app.main.check_action("undo", ()) is True
        await pilot.press("z")
        await finished(pilot)
        c = conv(data, "Which queue backend?")
        assert c.status == "IN-PROGRESS" and c.blocks[-1].action == "resume"
        await wait_until(pilot, lambda: app.main.selected().status == "IN-PROGRESS")
        # Set next to ada, then undo: linus is next again.
        await pilot.press("n")
        names = app.screen.query_one("#names")
        names.deselect_all()
        names.select("ada")
        await pilot.press("ctrl+s")
        await finished(pilot)
        assert conv(data, "Which queue backend?").next == ["ada"]
        await pilot.press("z")
        await finished(pilot)
        assert conv(data, "Which queue backend?").next == ["linus"]
        # An undo is refused once someone wrote after the action.
        await wait_until(pilot, lambda: app.main.selected().next == ["linus"])
        await pilot.press("n")
        names = app.screen.query_one("#names")
        names.deselect_all()
        names.select("ada")
        await pilot.press("ctrl+s")
        await finished(pilot)
        c = conv(data, "Which queue backend?")
        ops.run(ops.plan_reply(data, c.id, author="ada", next_=["linus"], body="mine"), "h")
        await pilot.press("z")
        await finished(pilot)
        assert conv(data, "Which queue backend?").blocks[-1].body == "mine"
        assert any("not undone" in t for t in toasts(app))


async def test_the_undo_lasts_a_few_seconds(data: Root, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forgiving, "UNDO_SECONDS", 0.2)
    app = make_app(data)
    said: list[str] = []  # the toast lasts as long as the undo: it may be gone when looked at
    monkeypatch.setattr(app, "notify", lambda message, **_: said.append(message))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("p", "enter")
        await finished(pilot)
        assert any("z undoes" in t for t in said)  # offered...
        await wait_until(pilot, lambda: not app.main.check_action("undo", ()))  # ...for a while
        await pilot.press("z")
        await finished(pilot)
        assert conv(data, "Which queue backend?").status == "PAUSED"


async def test_reopen_key_and_its_undo(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Logging format")  # paused: nothing to reopen
        assert app.main.check_action("reopen", ()) is False
        await select(pilot, app, "Test runner")
        assert app.main.check_action("reopen", ()) is True
        await pilot.press("O")
        await finished(pilot)
        c = conv(data, "Test runner")
        assert c.status == "IN-PROGRESS" and c.blocks[-1].action == "reopen"
        await pilot.press("z")
        await finished(pilot)
        c = conv(data, "Test runner")
        assert c.status == "CLOSED" and c.resolution == "pytest, with pytest-xdist later"


async def test_archive_key_asks_and_can_be_undone(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        closed = conv(data, "Test runner")
        await select(pilot, app, "Test runner")
        await pilot.press("A")
        assert isinstance(app.screen, WriteDialog)
        assert "Test runner" in screen_text(app)
        await pilot.press("escape")  # nothing typed: gone at once
        assert not isinstance(app.screen, WriteDialog)
        assert data.conversation(closed.id).exists()
        await pilot.press("A", "ctrl+s")
        await finished(pilot)
        assert not data.conversation(closed.id).exists()
        assert archive.archived_path(data, closed.id).exists()
        await wait_until(pilot, lambda: closed.id not in app.main.state.snapshots)
        assert any("z undoes" in t for t in toasts(app))
        await pilot.press("z")
        await finished(pilot)
        assert data.conversation(closed.id).exists()
        await wait_until(pilot, lambda: closed.id in app.main.state.snapshots)
        # Every conversation closed more than N days ago: none is 30 days old here.
        await pilot.press("A")
        app.screen.query_one("#every").value = True
        await pilot.press("ctrl+s")
        await finished(pilot)
        assert data.conversation(closed.id).exists()
        assert isinstance(app.screen, WriteDialog)  # said in the dialog, which stays
        assert "nothing to archive" in screen_text(app)
        app.screen.query_one("#days").value = "0"
        await pilot.press("ctrl+s")
        await finished(pilot)
        assert not data.conversation(closed.id).exists()


async def test_quit_says_what_stops_and_asks(data: Root) -> None:
    app = make_app(data, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await wait_until(pilot, lambda: app.watcher is not None)
        await pilot.press("q")
        await settled(pilot)
        shown = " ".join(screen_text(app).split())
        assert "wake-ups stop" in shown and "snap-host" in shown
        await pilot.press("escape")
        await settled(pilot)
        assert app.return_code is None and app.watcher.running
        await pilot.press("q", "enter")  # Enter is "Stay": a stray Enter never quits
        assert app.return_code is None
        await pilot.press("q", "q")
        assert app.return_code == 0


async def test_quit_without_asking_when_configured(data: Root, isolated: Path) -> None:
    (isolated / "config.yaml").write_text("confirm_quit: false\n")
    app = make_app(data, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await pilot.press("q")
        assert app.return_code == 0


async def test_q_then_e_in_one_burst(data: Root, isolated: Path) -> None:
    # The crash in the issue: quitting, then a key whose dialog mounts as the app closes.
    (isolated / "config.yaml").write_text("confirm_quit: false\n")
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        burst(app, ["q", "e", "i", "c", "question_mark"])
        await pilot.pause()
    assert app.return_code == 0


# Every key of every screen, and the keys a stray paste or a shell command brings.
# `q` aside: "q q" quits, which is no crash but ends the run; `test_q_then_e_in_one_burst`
# and `test_quit_says_what_stops_and_asks` have it.
FUZZ_KEYS = [
    *"nipreuoyRxdPfvtzONA1234Gslhcd", *text_keys("cd /tmp"),
    "slash", "question_mark", "left_square_bracket", "end", "home", "enter", "escape",
    "tab", "shift+tab", "space", "up", "down", "left", "right", "pageup", "pagedown",
    "ctrl+s", "ctrl+p", "backspace", "delete",
]  # fmt: skip


async def fuzz(pilot: Pilot, app: TalkroomApp, seed: int, bursts: int) -> None:
    rng = random.Random(seed)
    for _ in range(bursts):
        keys = [rng.choice(FUZZ_KEYS) for _ in range(rng.randint(1, 14))]
        burst(app, keys)
        await pilot.pause()
        if app.return_code is not None:  # q q is a legitimate way out
            return
        await finished(pilot)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_no_burst_of_keys_crashes_the_console(data: Root, seed: int) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await started(pilot, app)
        await fuzz(pilot, app, seed, 60)
    # run_test re-raises whatever the app raised: reaching here is the assertion.
    assert app._exception is None


# Bursts the fuzzing above found crashing Textual's own command palette (a search ending
# after Escape closed it; PageDown before its list was laid out; Enter twice dismissing it
# twice) and the finders' lists: the console's palette and lists take them.
@pytest.mark.parametrize(
    "keys",
    [
        ["escape", "ctrl+p", "p"],
        ["ctrl+p", "pagedown"],
        ["ctrl+p", "pageup"],
        ["ctrl+p", "down", "enter", "enter"],
        ["ctrl+p", "enter", "enter"],
        ["slash", "pagedown"],
        ["d", "pagedown"],
        ["escape", "escape", "R", "q", "q", "q"],
    ],
)
async def test_bursts_that_crashed_textuals_own_screens(data: Root, keys: list[str]) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        burst(app, keys)
        await pilot.pause()
        await finished(pilot)
        assert app.screen_stack[0] is app.main
    assert app._exception is None
