"""The real Claude Code, Codex and Gemini CLI, woken by the real watcher, reply through
their own shell tool; a line is delivered only on evidence, never typed twice, never typed
over a human's draft; Claude Code and Codex are woken without typing where they allow it.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from talkroom.core.paths import Root as TalkRoot
from tests.agents import clis
from tests.agents.conftest import HOST, TALKROOM, Room, wait

TURN = 60  # seconds a turn may take on a loaded 2-core machine


def _open(room: Room, *names: str, budget: int = 20) -> str:
    out = room.run(
        "open",
        "--topic",
        "real agents",
        "--as",
        "moderator",
        "--with",
        ",".join(names),
        "--next",
        names[0],
        "--max-turns",
        str(budget),
        "--body",
        "Say hello, then pass it on.",
    )
    return out.split()[0]


def _authors(room: Room, conv_id: str) -> list[str]:
    """Who wrote the replies (not the opening, not the moderator's actions)."""
    blocks = room.conversation(conv_id)["blocks"]
    return [str(b["author"]) for b in blocks if b["kind"] == "Reply"]  # type: ignore[attr-defined]


def _outcomes(room: Room, name: str) -> list[str]:
    return [
        f"{r.get('path', 'typed')}:{r['outcome']}" for r in room.receipts() if r["target"] == name
    ]


@pytest.mark.parametrize("cli", clis.CLIS)
def test_each_cli_is_woken_and_replies_through_its_own_tool(room: Room, cli: str) -> None:
    agent = room.agent("beta", cli)
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, f"{cli}'s reply")
    assert room.standin.commands(cli)[0].startswith(f"talkroom reply {conv_id} --as beta")
    delivered = [o for o in _outcomes(room, "beta") if o.endswith("delivered")]
    assert delivered, _outcomes(room, "beta")
    expected_path = {"claude": "inbox", "codex": "typed", "gemini": "typed"}[cli]
    assert delivered[0].startswith(f"{expected_path}:"), delivered  # codex: no thread yet
    wait(agent.idle, TURN, "the agent idle again")
    assert room.standin.commands(cli) == room.standin.commands(cli)[:1]  # one reply


def test_codex_is_woken_with_codex_queue_once_it_has_replied(room: Room) -> None:
    room.agent("beta", "codex")
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the first reply (typed)")
    sessions = room.run("sessions")
    assert "wake: queue" in sessions, sessions  # its reply recorded its thread
    room.run("next", conv_id, "beta")
    wait(lambda: _authors(room, conv_id).count("beta") == 2, TURN, "the second reply")
    assert _outcomes(room, "beta")[-1] == "queue:delivered", _outcomes(room, "beta")


def test_a_line_codex_left_in_its_composer_is_submitted_not_typed_again(room: Room) -> None:
    # An Enter right behind the typed text: Codex takes it as a newline and the line sits
    # in its composer (measured: every time with no gap). The watcher, coming to deliver,
    # finds it there and presses the submit key again instead of typing a second copy.
    agent = room.agent("beta", "codex")
    conv_id = _open(room, "beta", "alpha")
    room.run("pause", conv_id)
    agent.type(_line(room, conv_id))
    agent.key("Enter")
    time.sleep(1.0)
    assert "your turn in" in agent.composer() and not agent.busy(), agent.capture()
    room.run("resume", conv_id)
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply")
    assert _outcomes(room, "beta") == ["typed:delivered"]
    assert len(room.standin.commands("codex")) == 1


def _line(room: Room, conv_id: str) -> str:
    return (
        f"# talkroom: your turn in {conv_id} (turn 2/20): then run: talkroom reply "
        f"{conv_id} --as beta --next alpha --root {room.root}"
    )


@pytest.mark.parametrize("cli", clis.CLIS)
def test_a_humans_draft_is_never_typed_over(room: Room, cli: str) -> None:
    agent = room.agent("beta", cli)
    draft = "a human draft, typed but not sent"
    agent.type(draft)
    wait(lambda: draft in agent.capture(), 10, "the draft")
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    if cli == "claude":  # woken through its inbox socket: the draft stays as it is
        wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply")
        wait(lambda: not agent.busy(), TURN, "the turn to end")
    else:  # typed: it waits for the composer to be empty
        wait(lambda: any("draft" in o for o in _outcomes(room, "beta")), 20, "a deferral")
        assert _authors(room, conv_id) == []
    assert agent.capture().count(draft) == 1, agent.capture()
    assert "your turn in" not in agent.composer()
    if cli != "claude":
        agent.key("C-u")  # the human clears the composer
        wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply after the draft")


def test_a_nudge_never_types_a_second_copy_into_a_full_composer(room: Room) -> None:
    agent = room.agent("beta", "gemini")
    conv_id = _open(room, "beta", "alpha")
    room.run("pause", conv_id)  # no delivery yet
    # A wake-up line left in the composer (say Enter was lost), then a nudge.
    agent.type(_line(room, conv_id))
    wait(lambda: "your turn in" in agent.composer(), 10, "the line in the composer")
    room.run("resume", conv_id)
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply")
    assert len(room.standin.commands("gemini")) == 1
    prompts = [r.get("prompt", "") for r in room.standin.requests if r.get("command")]
    assert all(str(p).count("your turn in") == 1 for p in prompts), prompts


def test_three_real_agents_debate_to_the_budget_with_a_draft_in_one_composer(room: Room) -> None:
    names = {"alpha": "claude", "beta": "codex", "gamma": "gemini"}
    agents = {name: room.agent(name, cli) for name, cli in names.items()}
    draft = "claude's human is typing this"
    agents["alpha"].type(draft)
    conv_id = _open(room, "alpha", "beta", "gamma", budget=8)
    room.start_watcher()
    wait(
        lambda: room.conversation(conv_id)["next"] == ["moderator"],
        6 * TURN,
        "the conversation to use its budget",
    )
    conv = room.conversation(conv_id)
    authors = _authors(room, conv_id)
    assert authors == ["alpha", "beta", "gamma", "alpha", "beta", "gamma", "alpha"], authors
    commands = [c for cli in names.values() for c in room.standin.commands(cli)]
    assert len(commands) == 7  # each turn run by the agent's own shell tool, once
    assert conv["turns"] == 8
    for name in names:
        outcomes = _outcomes(room, name)
        assert not any("not submitted" in o for o in outcomes), outcomes
        assert [o for o in outcomes if o.endswith(":delivered")], outcomes
    assert agents["alpha"].capture().count(draft) == 1  # the draft survived every turn
    time.sleep(1)
    assert room.conversation(conv_id)["turns"] == 8  # nobody wrote past the budget


def test_claude_refusing_other_sessions_is_typed_to_instead(room: Room) -> None:
    # A definite failure of the native path (nothing reached the agent): type instead.
    room.agent("beta", "claude", settings={"crossSessionInbound": "refuse"})
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply")
    assert _outcomes(room, "beta") == ["typed:delivered"]


def test_claude_skipping_permissions_holds_the_message_for_a_person(room: Room) -> None:
    agent = room.agent(
        "beta",
        "claude",
        args=["--dangerously-skip-permissions"],
        settings={"skipDangerousModePermissionPrompt": True},
    )
    doctor = subprocess.run(
        [*TALKROOM, "--root", str(room.root), "doctor"],
        capture_output=True,
        text=True,
        env=room.env,
        check=False,
    )
    assert "crossSessionInbound" in doctor.stdout, doctor.stdout
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: any("held" in o for o in _outcomes(room, "beta")), TURN, "the hold")
    assert _authors(room, conv_id) == []  # waiting for a person; never typed as well
    assert "your turn in" not in agent.composer()
    time.sleep(3)  # however long it is held, nothing is typed in its stead
    assert "your turn in" not in agent.composer() and _authors(room, conv_id) == []
    assert [o for o in _outcomes(room, "beta") if not o.startswith("inbox:deferred:held")] == []


def test_codex_with_an_unknown_thread_is_typed_to_instead(room: Room) -> None:
    from talkroom.watch import registry

    room.agent("beta", "codex")
    sessions = registry.load_sessions(_root(room), HOST)
    assert sessions["beta"].wake == "typed"
    registry.note_thread(_root(room), HOST, "beta", "01a20000-0000-7000-8000-000000000000")
    assert registry.load_sessions(_root(room), HOST)["beta"].wake == "queue"
    conv_id = _open(room, "beta", "alpha")
    room.start_watcher()
    wait(lambda: _authors(room, conv_id) == ["beta"], TURN, "the reply")
    assert _outcomes(room, "beta") == ["typed:delivered"]


def _root(room: Room) -> TalkRoot:
    return TalkRoot(room.root, "test")
