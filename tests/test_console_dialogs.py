"""Layout and keys: dialogs fit a small pane and follow one key grammar, the pane peek folds,
tab stays out of the filter box, the filter in force is shown, the palette lists every
action once with its key, "copied" only when a clipboard took it, one meaning per colour."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.widgets import Button, Input, SelectionList

from talkroom.console import actions, palette
from talkroom.console.messages import PaneSeen
from talkroom.console.screens.dialogs import WriteDialog
from talkroom.console.widgets import peek
from talkroom.console.widgets.transcript import Transcript
from talkroom.core.paths import Root
from tests.consolepilot import conv, make_app, screen_text, select, settled, started
from tests.consolepilot import written as finished


def region_text(app, widget) -> str:
    """The words on screen inside `widget`'s region, lines joined: what the user sees of it
    (a word cut off by the region's edge, or a line below it, is missing)."""
    area = widget.region
    lines = screen_text(app).splitlines()
    return " ".join(
        " ".join(line[area.x : area.right].split()) for line in lines[area.y : area.bottom]
    ).strip()


DIALOG_KEYS = {
    "n": "Set next",
    "i": "Send",
    "p": "Pause",
    "c": "Close it",
    "e": "Extend",
    "o": "Open",
    "x": "Export",
    "A": "Archive",
}


@pytest.mark.parametrize("key", sorted(DIALOG_KEYS))
async def test_every_dialog_fits_a_small_pane_and_says_its_keys(data: Root, key: str) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Test runner" if key == "A" else "Which queue backend?")
        await pilot.press(key)
        await settled(pilot)
        dialog = app.screen
        assert isinstance(dialog, WriteDialog)
        whole = dialog.region
        ok = dialog.query_one("#ok", Button)
        assert str(ok.label) == DIALOG_KEYS[key]
        assert whole.contains_region(ok.region), f"{key}: the OK button is off screen"
        assert whole.contains_region(dialog.query_one("#cancel").region)
        assert "ctrl+s" in screen_text(app)  # each dialog says how to submit
        # An error is shown whole, wrapped, and in view: never cut off.
        long = (
            "this conversation has used its turn budget of 12 turns; extend it first with "
            "e, or close it with c and a resolution that says what was decided"
        )
        dialog.show_error(long)
        await settled(pilot)
        error = dialog.query_one("#error")
        assert whole.contains_region(error.region) and whole.contains_region(ok.region)
        assert region_text(app, error) == long  # wrapped, whole, on screen


async def test_the_pane_peek_folds_on_a_small_terminal(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await settled(pilot)
        pane = "\n".join(f"line {i} of the agent's pane" for i in range(20))
        app.main.post_message(PaneSeen("linus", pane, ""))  # as the peeker posts it
        await settled(pilot)
        assert "line 19 of the agent's pane" in screen_text(app)
        transcript = app.query_one(Transcript)
        assert app.main.peek.display
        assert transcript.region.height >= 8, transcript.region
        await pilot.resize_terminal(120, 50)
        await settled(pilot)
        assert app.main.peek.region.height > 2  # room enough: the peek shows the pane


async def test_enter_moves_on_or_submits_everywhere(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        # Next: Enter on the list submits (space ticks), as Enter does in every dialog.
        await pilot.press("n")
        names = app.screen.query_one("#names", SelectionList)
        assert app.focused is names
        names.deselect_all()
        await pilot.press("space")  # ticks the highlighted name (ada)
        assert list(names.selected) == ["ada"]
        await pilot.press("enter")
        await finished(pilot)
        assert not isinstance(app.screen, WriteDialog)
        assert conv(data, "Which queue backend?").next == ["ada"]
        # Open: Enter moves from field to field.
        await pilot.press("o")
        order = []
        for _ in range(4):
            order.append(app.focused.id)
            await pilot.press("enter")
        order.append(app.focused.id)
        assert order == ["topic", "with", "next", "budget", "body"]
        await pilot.press("escape")


async def test_escape_asks_before_discarding_what_was_typed(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        await pilot.press("p", "escape")  # nothing typed: closed at once
        assert not isinstance(app.screen, WriteDialog)
        await pilot.press("p", "l", "u", "n", "c", "h", "escape")
        assert "Discard" in screen_text(app)
        await pilot.press("escape")  # back to the text
        assert isinstance(app.screen, WriteDialog)
        assert app.screen.query_one("#value", Input).value == "lunch"
        await pilot.press("escape", "enter")  # Enter is "keep editing": nothing is lost
        assert isinstance(app.screen, WriteDialog)
        await pilot.press("escape", "d")  # d discards
        assert not isinstance(app.screen, WriteDialog)
        assert conv(data, "Which queue backend?").status == "IN-PROGRESS"


async def test_tab_never_walks_into_the_filter_box(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        box = app.main.filter_input
        for key in ("tab", "tab", "tab", "shift+tab", "shift+tab", "shift+tab"):
            await pilot.press(key)
            assert app.focused is not box
        await pilot.press("1")  # a command letter stays a command
        assert box.value == ""
        await pilot.press("f", "q")  # f opens the box; a click would too
        assert app.focused is box and box.value == "q"
        await pilot.press("escape")
        assert app.focused is app.main.listing and box.value == "q"


async def test_the_status_filter_in_force_is_shown(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await settled(pilot)
        assert "showing all" in screen_text(app)
        await pilot.press("3")
        await settled(pilot)
        assert "showing paused (1)" in screen_text(app)


async def test_the_palette_lists_every_action_once_with_its_key(data: Root) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Which queue backend?")
        commands = list(app.get_system_commands(app.main))
        titles = [c.title for c in commands]
        assert len(titles) == len(set(titles)), titles
        for entry in actions.ACTIONS:
            assert entry.title, f"{entry.keys} has no palette title"
            if entry.scope == "replay":
                continue
            node = app if entry.scope == "app" else app.main
            if not node.check_action(entry.name, ()):
                continue
            found = [c for c in commands if c.title == entry.title]
            assert len(found) == 1, entry.title
            assert actions.key_display(entry.keys) in found[0].help, found[0]
        assert "Quit" in titles and "Keys" in titles


async def test_copy_says_no_clipboard_took_it(data: Root, monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "TMUX"):
        monkeypatch.delenv(name, raising=False)
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Test runner")
        await pilot.press("y")
        await finished(pilot)
        said = [n.message for n in app._notifications][-1]
        assert "copied" not in said and "no clipboard" in said
        assert conv(data, "Test runner").id in said  # shown, to select by hand


@pytest.mark.tmux
async def test_copy_into_tmux_says_so(data: Root, tmux_server, monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TMUX", f"{tmux_server.socket},{tmux_server.pid},0")
    app = make_app(data)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Test runner")
        await pilot.press("y")
        await finished(pilot)
        said = [n.message for n in app._notifications][-1]
        conv_id = conv(data, "Test runner").id
        assert said.startswith(f"copied {conv_id}") and "tmux" in said
        assert tmux_server.run("show-buffer") == conv_id


async def test_export_names_the_file_and_refuses_a_bare_format(data: Root, tmp_path: Path) -> None:
    app = make_app(data)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        await select(pilot, app, "Test runner")
        conv_id = conv(data, "Test runner").id
        await pilot.press("x")
        await settled(pilot)
        target = app.screen.query_one("#target")
        said = region_text(app, target).replace(" ", "")  # a long path wraps anywhere
        assert said.startswith(f"writes{tmp_path / (conv_id + '.html')}".replace(" ", ""))
        field = app.screen.query_one("#value", Input)
        await pilot.press("m")  # the name is not selected: one key does not wipe it
        assert field.value == f"{conv_id}.htmlm"
        field.value = "md"
        await settled(pilot)
        assert region_text(app, target).startswith("no extension talkroom writes")
        await pilot.press("enter")
        await finished(pilot)
        assert isinstance(app.screen, WriteDialog) and not (tmp_path / "md").exists()
        field.value = "notes.md"
        await pilot.press("enter")
        await finished(pilot)
        assert (tmp_path / "notes.md").read_text().startswith("#")


def test_one_meaning_per_colour() -> None:
    # Healthy states are drawn in the healthy colour, never in the waiting one.
    assert peek.STATES[""][1] == peek.STATES["busy"][1] == palette.MOVING
    assert palette.MOVING != palette.WAITS_ON_YOU != palette.BROKEN
    # Colours are named in the palette only: a colour word anywhere else in the console's
    # code is a second meaning waiting to happen.
    console = Path(actions.__file__).parent
    colour = re.compile(r"\b(red|green|yellow|orange\w*|magenta|cyan|blue)\b")
    for path in sorted(console.rglob("*.py")):
        if path.name == "palette.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            strings = re.findall(r"\"[^\"]*\"|'[^']*'", code)
            assert not [s for s in strings if colour.search(s)], f"{path.name}:{number}: {line}"
    sheet = (console.parent.parent / "styles" / "talkroom.tcss").read_text()
    assert "$warning" not in sheet.split("#unseen")[1].split("}")[0]  # new blocks: not a warning
    assert "$accent" not in sheet.split(".block.found")[1].split("}")[0]  # a hit: not orange
