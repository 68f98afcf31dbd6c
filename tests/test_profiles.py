"""Agent profiles against panes captured from the real CLIs (tests/agents/capture.py):
every state is classified right, a human's draft is never taken for an empty prompt, and
the built-in foreground commands are what tmux really reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkroom.watch.profiles import BUILTIN_PROFILES, make_profile
from talkroom.watch.tmux import command_name

PANES = Path(__file__).parent / "fixtures" / "panes"
# What each captured state must read as: "" is ready to take a line.
EXPECTED = {
    "idle": "",
    "after_tool": "",
    "warning": "",
    "busy": "busy",
    "busy_draft": "busy",
    "dialog": "waiting",
    "draft": "draft",
    "wakeline_unsent": "draft",
    "wakeline_stuck": "draft",
}
# Claude Code hides its `esc to interrupt` while someone types during a turn: the pane
# reads as a draft then, which is just as untouchable.
EXCEPTIONS = {("claude", "busy_draft"): "draft"}
CAPTURES = sorted(
    (cli.name, shot.stem) for cli in PANES.iterdir() if cli.is_dir() for shot in cli.glob("*.txt")
)


def test_every_cli_and_state_was_captured() -> None:
    captured = {(cli, state) for cli, state in CAPTURES}
    for cli in ("claude", "codex", "gemini"):
        for state in (
            "idle",
            "busy",
            "busy_draft",
            "dialog",
            "draft",
            "wakeline_unsent",
            "after_tool",
            "warning",
        ):
            assert (cli, state) in captured, (cli, state)
            assert (PANES / cli / f"{state}.ansi").exists()  # with attributes, too


@pytest.mark.parametrize(("cli", "state"), CAPTURES)
def test_a_captured_pane_is_classified_right(cli: str, state: str) -> None:
    text = (PANES / cli / f"{state}.txt").read_text(encoding="utf-8")
    assert BUILTIN_PROFILES[cli].state(text) == EXCEPTIONS.get((cli, state), EXPECTED[state])


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_the_composer_is_read_as_it_is(cli: str) -> None:
    profile = BUILTIN_PROFILES[cli]
    read = {
        state: profile.composer((PANES / cli / f"{state}.txt").read_text())
        for state in ("idle", "draft", "wakeline_unsent", "busy")
    }
    assert read["idle"] == "" and read["busy"] == ""
    assert read["draft"] == "a human draft, typed but not sent"
    assert read["wakeline_unsent"] is not None and "your turn in" in read["wakeline_unsent"]


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_built_in_foreground_commands_are_what_tmux_reports(cli: str) -> None:
    meta = json.loads((PANES / cli / "meta.json").read_text())
    seen = {command_name(s["pane_current_command"]) for s in meta["states"].values()}
    allowed = BUILTIN_PROFILES[cli].allowed_commands
    assert seen == {"claude" if cli == "claude" else "node"}
    assert not allowed or seen <= set(allowed), (seen, allowed)


def test_overrides_of_the_new_keys_are_checked() -> None:
    profile = make_profile(
        "codex", {"submit_literal": "yes", "prompt": r"\$ (.*)", "placeholders": ["type here"]}
    )
    assert profile.submit_literal and profile.composer("$ type here\n") == ""
    with pytest.raises(ValueError, match="group"):
        make_profile("codex", {"prompt": r"\$ .*"})
    with pytest.raises(ValueError, match="not a regex"):
        make_profile("codex", {"placeholders": ["("]})
