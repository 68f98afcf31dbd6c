"""The helper command: every operation, every refusal of docs/protocol.md section 4, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from talkroom.core import store
from talkroom.core.model import Conversation
from tests.conftest import Result, Talk, run_talkroom


def conv(talk: Talk, conv_id: str) -> Conversation:
    return store.load(talk.root.conversation(conv_id))


def one_line_error(result: Result, code: int, pattern: str) -> None:
    assert result.code == code, result
    assert result.err.count("\n") == 1 and result.err.startswith("talkroom: "), result.err
    assert re.search(pattern, result.err), result.err


# --- happy paths ------------------------------------------------------------------------


def test_open_prints_the_id_alone_on_its_first_line(talk: Talk) -> None:
    result = talk(
        "open",
        "--topic",
        "Which test runner?",
        "--as",
        "Alpha",
        "--with",
        "beta,gamma",
        "--max-turns",
        "6",
        "--body",
        "pytest?",
    )
    assert result.code == 0
    conv_id = result.first
    assert re.fullmatch(r"\d{8}-\d{6}-which-test-runner", conv_id)
    c = conv(talk, conv_id)
    assert c.participants == ["alpha", "beta", "gamma"]
    assert (c.turns, c.max_turns, c.next, c.revision, c.opened_by) == (1, 6, ["beta"], 1, "alpha")
    assert c.blocks[0].kind == "Opening" and c.blocks[0].body == "pytest?"


def test_the_same_topic_in_the_same_second_gets_a_suffix(
    talk: Talk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T13:45:02Z")
    ids = [talk.open() for _ in range(3)]
    assert ids == [
        "20261121-134502-a-topic",
        "20261121-134502-a-topic-2",
        "20261121-134502-a-topic-3",
    ]


def test_a_moderator_opens_without_being_a_participant(talk: Talk) -> None:
    result = talk(
        "open",
        "--topic",
        "t",
        "--as",
        "moderator",
        "--with",
        "a,b",
        "--next",
        "all",
        stdin="Please agree on a linter.",
    )
    c = conv(talk, result.first)
    assert c.participants == ["a", "b"] and c.next == ["a", "b"]
    assert c.opened_by == "moderator" and c.blocks[0].author == "mod"
    assert c.blocks[0].body == "Please agree on a linter."


def test_reply_from_stdin_passes_the_turn(talk: Talk) -> None:
    conv_id = talk.open()
    result = talk("reply", conv_id, "--as", "beta", "--next", "alpha", stdin="line 1\nline 2\n")
    assert result.code == 0 and "turn 2/20" in result.out
    c = conv(talk, conv_id)
    assert c.next == ["alpha"] and c.blocks[-1].body == "line 1\nline 2"
    assert (
        talk(
            "append-turn", conv_id, "--as", "alpha", "--next", "beta", "--body", "via the alias"
        ).code
        == 0
    )


def test_reply_with_body_file(talk: Talk, tmp_path: Path) -> None:
    conv_id = talk.open()
    body = tmp_path / "reply.md"
    body.write_text("# From a file\n\n- a\n- b\n")
    assert (
        talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body-file", str(body)).code
        == 0
    )
    assert conv(talk, conv_id).blocks[-1].body == "# From a file\n\n- a\n- b"


def test_next_all_means_every_participant_but_the_writer(talk: Talk) -> None:
    result = talk("open", "--topic", "t", "--as", "a", "--with", "b,c,d")
    talk("reply", result.first, "--as", "b", "--next", "all", "--body", "x")
    assert conv(talk, result.first).next == ["a", "c", "d"]


def test_the_reply_that_fills_the_budget_hands_over_to_the_moderator(talk: Talk) -> None:
    conv_id = talk.open("--max-turns", "2")
    result = talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "last")
    assert result.code == 0 and "next is the moderator, not alpha" in result.out
    c = conv(talk, conv_id)
    assert c.status == "IN-PROGRESS" and c.next == ["moderator"]
    assert c.blocks[-1].next == ["moderator"]


def test_an_agent_closes_with_its_reply(talk: Talk) -> None:
    conv_id = talk.open()
    result = talk("reply", conv_id, "--as", "beta", "--close", "use ruff", "--body", "agreed")
    assert result.code == 0
    c = conv(talk, conv_id)
    assert (c.status, c.resolution, c.next) == ("CLOSED", "use ruff", [])
    assert c.blocks[-1].body == "agreed" and c.blocks[-1].next == []


def test_the_moderator_actions(talk: Talk) -> None:
    conv_id = talk.open()
    assert talk("next", conv_id, "alpha").code == 0
    c = conv(talk, conv_id)
    assert c.next == ["alpha"] and c.blocks[-1].changes == [("next", "beta", "alpha")]
    assert c.blocks[-1].author == "mod" and c.blocks[-1].action == "next"

    assert talk("inject", conv_id, "--next", "beta", stdin="Focus on speed.").code == 0
    c = conv(talk, conv_id)
    assert c.blocks[-1].body == "Focus on speed." and c.next == ["beta"]

    assert talk("pause", conv_id, "--reason", "lunch").code == 0
    c = conv(talk, conv_id)
    assert (c.status, c.paused_reason, c.next) == ("PAUSED", "lunch", ["beta"])
    assert c.blocks[-1].changes == [("status", "IN-PROGRESS", "PAUSED")]

    assert talk("resume", conv_id).code == 0
    c = conv(talk, conv_id)
    assert c.status == "IN-PROGRESS" and c.paused_reason is None
    assert c.assignment() is c.blocks[-1] and c.blocks[-1].next == ["beta"]

    assert talk("extend", conv_id, "--by", "5").code == 0
    c = conv(talk, conv_id)
    assert c.max_turns == 25 and c.blocks[-1].changes == [("max turns", "20", "25")]

    assert talk("nudge", conv_id).code == 0
    c = conv(talk, conv_id)
    assert c.assignment() is c.blocks[-1] and c.blocks[-1].action == "nudge"

    assert talk("close", conv_id, "--resolution", "ship it").code == 0
    c = conv(talk, conv_id)
    assert (c.status, c.resolution, c.next) == ("CLOSED", "ship it", [])
    assert c.blocks[-1].changes == [("status", "IN-PROGRESS", "CLOSED"), ("next", "beta", "none")]
    assert c.revision == 8 and c.turns == 1


def test_every_write_raises_the_revision_and_keeps_turns_in_step(talk: Talk) -> None:
    conv_id = talk.open()
    for i in range(6):
        speaker, other = ("beta", "alpha") if i % 2 == 0 else ("alpha", "beta")
        talk("reply", conv_id, "--as", speaker, "--next", other, "--body", f"turn {i + 2}")
    c = conv(talk, conv_id)
    assert c.revision == 7 and c.header["turns"] == "7" == str(c.turns)
    assert [b.turn for b in c.blocks] == list(range(1, 8))


# --- refusals: exit code, one-line message, nothing changed -----------------------------


REFUSALS = [
    # (set-up commands, the refused command, exit code, message pattern)
    (
        [],
        ["reply", "{id}", "--as", "alpha", "--next", "beta", "--body", "x"],
        1,
        "not your turn .* next is beta",
    ),
    (
        [],
        ["reply", "{id}", "--as", "beta", "--next", "zed", "--body", "x"],
        1,
        "'zed' is not a participant",
    ),
    (
        [],
        ["reply", "{id}", "--as", "beta", "--next", "Bad_Name", "--body", "x"],
        2,
        "invalid name in --next",
    ),
    ([], ["reply", "{id}", "--as", "beta", "--next", "alpha", "--body", "  "], 2, "no body"),
    ([], ["reply", "{id}", "--as", "beta", "--body", "x"], 2, "--next"),
    (
        [["pause", "{id}"]],
        ["reply", "{id}", "--as", "beta", "--next", "alpha", "--body", "x"],
        1,
        "is paused",
    ),
    (
        [["close", "{id}", "--resolution", "done"]],
        ["reply", "{id}", "--as", "beta", "--next", "alpha", "--body", "x"],
        1,
        "is closed: done",
    ),
    (
        [["next", "{id}", "moderator"], ["extend", "{id}", "--by", "1"]],
        ["next", "{id}", "zed"],
        1,
        "'zed' is not a participant",
    ),
    ([], ["inject", "{id}"], 2, "no body"),
    ([], ["resume", "{id}"], 1, "not PAUSED"),
    ([["pause", "{id}"]], ["pause", "{id}"], 1, "not IN-PROGRESS"),
    (
        [["close", "{id}", "--resolution", "x"]],
        ["close", "{id}", "--resolution", "y"],
        1,
        "is closed",
    ),
    ([], ["close", "{id}", "--resolution", " "], 2, "resolution is empty"),
    ([], ["extend", "{id}", "--by", "0"], 2, "--by must be"),
    ([["pause", "{id}"]], ["nudge", "{id}"], 1, "only a live conversation"),
    ([["next", "{id}", "moderator"]], ["nudge", "{id}"], 1, "no agent to nudge"),
    ([], ["next", "{id}", "none"], 2, "cannot be 'none'"),
    (
        [],
        ["reply", "../../etc/passwd", "--as", "beta", "--next", "alpha", "--body", "x"],
        2,
        "invalid conversation id",
    ),
    (
        [],
        ["reply", "no-such-talk", "--as", "beta", "--next", "alpha", "--body", "x"],
        3,
        "no conversation 'no-such-talk'",
    ),
    ([], ["reply", "{id}", "--as", "moderator", "--next", "alpha", "--body", "x"], 2, "reserved"),
]


@pytest.mark.parametrize(
    "setup,command,code,pattern", REFUSALS, ids=[" ".join([*r[1][:1], r[3][:24]]) for r in REFUSALS]
)
def test_refusals_change_nothing(
    talk: Talk, setup: list[list[str]], command: list[str], code: int, pattern: str
) -> None:
    conv_id = talk.open("--max-turns", "3")
    for step in setup:
        assert talk(*[a.replace("{id}", conv_id) for a in step]).code == 0
    before = talk.file(conv_id)
    result = talk(*[a.replace("{id}", conv_id) for a in command])
    one_line_error(result, code, pattern)
    assert talk.file(conv_id) == before
    assert not list(talk.root.conversations.glob(".*.lock"))


def test_over_budget_is_refused(talk: Talk) -> None:
    conv_id = talk.open("--max-turns", "2")
    talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "fills it")
    talk("next", conv_id, "moderator")
    before = talk.file(conv_id)
    one_line_error(talk("next", conv_id, "alpha"), 1, r"used its budget \(2/2\).*extend")
    assert talk.file(conv_id) == before
    # Even if a hand edit named an agent, its reply is refused over budget.
    assert talk("extend", conv_id, "--by", "1").code == 0
    assert talk("next", conv_id, "alpha").code == 0
    talk("reply", conv_id, "--as", "alpha", "--next", "beta", "--body", "third")
    assert conv(talk, conv_id).next == ["moderator"]


@pytest.mark.parametrize(
    "args,pattern",
    [
        (["--topic", " ", "--as", "a", "--with", "b"], "topic is empty"),
        (["--topic", "t", "--as", "a", "--with", "a"], "at least 2 participants"),
        (["--topic", "t", "--as", "moderator", "--with", "b"], "at least 2 participants"),
        (["--topic", "t", "--as", "a", "--with", "b", "--max-turns", "1"], "--max-turns"),
        (["--topic", "t", "--as", "a", "--with", "b/../../x"], "invalid --with name"),
        (["--topic", "two\nlines", "--as", "a", "--with", "b"], "one line"),
        (["--topic", "t", "--as", "all", "--with", "b"], "--as cannot be 'all'"),
    ],
)
def test_bad_open_is_refused_and_writes_nothing(talk: Talk, args: list[str], pattern: str) -> None:
    one_line_error(talk("open", *args, "--body", "x"), 2, pattern)
    assert not talk.root.conversations.exists() or not list(talk.root.conversations.iterdir())


def test_open_with_a_first_next_who_is_not_a_participant(talk: Talk) -> None:
    one_line_error(
        talk("open", "--topic", "t", "--as", "a", "--with", "b", "--next", "c"),
        1,
        "first --next 'c' is not a participant",
    )


def test_a_refused_body_is_saved_and_the_error_says_where(talk: Talk, isolated: Path) -> None:
    conv_id = talk.open()
    body = "A long careful reply\nthat must not be lost.\n"
    result = talk("reply", conv_id, "--as", "alpha", "--next", "beta", stdin=body)
    one_line_error(result, 1, r"not your turn.*; saved to /")
    saved = Path(result.err.rsplit("saved to ", 1)[1].strip())
    assert saved.is_absolute() and saved.read_text() == body
    assert saved.is_relative_to(isolated / "state")
    result = talk("inject", "no-such-id", "--body", "moderator words")
    saved = Path(result.err.rsplit("saved to ", 1)[1].strip())
    assert saved.read_text() == "moderator words"


def test_bad_usage_is_one_line_with_exit_2(talk: Talk) -> None:
    for args in (
        ["reply"],
        ["open", "--topic"],
        ["frobnicate"],
        ["show", "x", "--last", "z"],
        ["reply", "x", "--as", "a", "--next", "b", "--body", "x", "--body-file", "y"],
    ):
        result = talk(*args)
        assert result.code == 2 and result.err.count("\n") == 1, (args, result)


def test_body_file_errors(talk: Talk, tmp_path: Path) -> None:
    conv_id = talk.open()
    one_line_error(
        talk(
            "reply",
            conv_id,
            "--as",
            "beta",
            "--next",
            "alpha",
            "--body-file",
            str(tmp_path / "nope.md"),
        ),
        2,
        "no such file",
    )
    one_line_error(
        talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body-file", str(tmp_path)),
        2,
        "is a folder",
    )


def test_nul_and_oversized_bodies(talk: Talk) -> None:
    conv_id = talk.open()
    before = talk.file(conv_id)
    one_line_error(
        talk("reply", conv_id, "--as", "beta", "--next", "alpha", stdin=b"a\x00b"),
        2,
        "NUL byte.*saved to",
    )
    one_line_error(
        talk("reply", conv_id, "--as", "beta", "--next", "alpha", stdin=b"x" * (256 * 1024 + 1)),
        2,
        "limit is 262144",
    )
    assert talk.file(conv_id) == before


# --- show and list ------------------------------------------------------------------------


SHOW_KEYS = {
    "id",
    "path",
    "topic",
    "status",
    "turns",
    "max_turns",
    "next",
    "participants",
    "revision",
    "opened_by",
    "resolution",
    "readable",
    "edited_by_hand",
    "lost_blocks",
    "blocks",
}
BLOCK_KEYS = {"kind", "author", "at", "turn", "action", "body", "next", "id"}


def test_show_json(talk: Talk) -> None:
    conv_id = talk.open()
    talk("inject", conv_id, "--body", "note")
    data = json.loads(talk("show", conv_id, "--json").out)
    assert set(data) == SHOW_KEYS
    assert data["next"] == ["beta"] and data["participants"] == ["alpha", "beta"]
    assert [set(b) for b in data["blocks"]] == [BLOCK_KEYS, BLOCK_KEYS]
    opening, note = data["blocks"]
    assert (opening["turn"], opening["action"], opening["next"]) == (1, None, ["beta"])
    assert (note["kind"], note["turn"], note["action"], note["next"]) == (
        "Moderator",
        None,
        "inject",
        None,
    )


def test_show_is_sanitised_and_last_n(talk: Talk) -> None:
    conv_id = talk.open(body="hi \x1b]0;pwned\x07 \u202eevil")
    talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "second")
    out = talk("show", conv_id).out
    assert "\x1b" not in out and "\u202e" not in out and "␛]0;pwned␇" in out
    last = talk("show", conv_id, "--last", "1").out
    assert "second" in last and "Opening --" not in last
    assert json.loads(talk("show", conv_id, "--json").out)["blocks"][0]["body"].startswith(
        "hi \x1b]0;pwned"
    )  # JSON carries the exact text; consumers sanitise


def test_show_json_of_an_unreadable_file_exits_3(talk: Talk) -> None:
    talk.root.conversations.mkdir(parents=True)
    talk.root.conversation("broken").write_bytes(b"---\ntopic: [oops\n---\n")
    result = talk("show", "broken", "--json")
    data = json.loads(result.out)
    assert result.code == 3 and data["readable"] is False and "line 3" in data["error"]
    one_line_error(talk("show", "broken"), 3, "unreadable")


def test_list_newest_first_with_filters_and_unreadable_files(
    talk: Talk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T10:00:00Z")
    older = talk.open()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T11:00:00Z")
    newer = talk.open()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T12:00:00Z")
    talk("pause", older)  # now the most recently active
    talk.root.conversation("junk").write_bytes(b"\x00\xff binary")
    listed = json.loads(talk("list", "--json").out)
    assert [c["id"] for c in listed if c["readable"]] == [older, newer]
    assert all(set(c) - {"error"} == SHOW_KEYS - {"blocks"} for c in listed)
    for status, expected in [("paused", [older]), ("in-progress", [newer]), ("closed", [])]:
        got = json.loads(talk("list", "--status", status, "--json").out)
        assert [c["id"] for c in got if c["readable"]] == expected
        assert [c["id"] for c in got if not c["readable"]] == ["junk"]
    lines = talk("list").out.splitlines()
    assert [ln.split()[0] for ln in lines] == [c["id"] for c in listed]
    assert any(ln.startswith("junk  UNREADABLE  line 1: expected '---'") for ln in lines)


def test_list_of_an_empty_root(talk: Talk) -> None:
    result = talk("list", "--json")
    assert result.code == 0 and json.loads(result.out) == []


def test_guide_and_version(talk: Talk) -> None:
    guide = talk("guide").out
    for needle in ("talkroom reply <id> --as <you> --next", "--close", "moderator", "budget"):
        assert needle in guide
    from talkroom import __version__

    with pytest.raises(SystemExit) as info:
        talk("--version")
    assert info.value.code == 0 and __version__ in talk.capsys.readouterr().out


def test_moderator_name_from_login_when_not_configured(
    talk: Talk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALKROOM_MODERATOR")
    monkeypatch.setenv("LOGNAME", "Dr. Jane Doe")
    conv_id = talk.open()
    talk("pause", conv_id)
    assert conv(talk, conv_id).blocks[-1].author == "dr-jane-doe"


def test_a_reader_that_goes_away_stops_the_output_quietly(talk: Talk) -> None:
    conv_id = talk.open()
    read, write = os.pipe()
    os.close(read)  # like `talkroom show ID | head -0`
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "talkroom",
                "--root",
                str(talk.root.path),
                "reply",
                conv_id,
                "--as",
                "beta",
                "--body",
                "kept",
                "--next",
                "alpha",
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, b"")
    assert "kept" in talk("show", conv_id, "--last", "1").out  # the reply itself was written


def test_a_write_past_the_file_limit_is_refused_and_changes_nothing(talk: Talk) -> None:
    conv_id = talk.open("--max-turns", "200")
    chunk = ("x" * 1023 + "\n") * 255  # just under the 256 KiB body limit
    path = talk.root.conversation(conv_id)
    while path.stat().st_size + len(chunk) < 16 * 1024 * 1024:
        assert talk("inject", conv_id, stdin=chunk).code == 0
    before = talk.file(conv_id)
    refused = talk("inject", conv_id, stdin=chunk)
    assert refused.code == 2 and "the limit is 16777216 (16 MiB)" in refused.err
    assert "saved to" in refused.err and refused.err.count("\n") == 1
    assert talk.file(conv_id) == before and talk("show", conv_id, "--last", "1").code == 0


def test_an_open_whose_header_would_pass_the_limit_writes_nothing(talk: Talk) -> None:
    names = ",".join(f"agent-{i:04d}-" + "n" * 52 for i in range(1200))
    result = talk("open", "--topic", "many", "--as", "alpha", "--with", names, "--body", "x")
    assert result.code == 2 and "the header would be" in result.err
    assert not list(talk.root.conversations.glob("*.md"))


@pytest.mark.parametrize("source", ["stdin", "file"])
def test_an_endless_body_is_refused_without_reading_it_all(talk: Talk, source: str) -> None:
    conv_id = talk.open()
    args = ["--body-file", "/dev/zero"] if source == "file" else []
    with open("/dev/zero", "rb") as zero:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "talkroom",
                "--root",
                str(talk.root.path),
                "inject",
                conv_id,
                *args,
            ],
            stdin=zero,
            capture_output=True,
            timeout=60,
            check=False,
        )
    err = done.stderr.decode()
    # A device given as a --body-file is refused as one (no 1 MiB of NULs is kept).
    reason = "is a device" if source == "file" else "the limit is 262144"
    assert done.returncode == 2 and err.count("\n") == 1 and reason in err


def test_a_body_that_is_not_utf8_is_refused_and_kept_byte_for_byte(
    talk: Talk, tmp_path: Path
) -> None:
    conv_id = talk.open()
    before = talk.file(conv_id)
    raw = b"ok \xff\xfe bad"
    result = talk("inject", conv_id, stdin=raw)
    assert result.code == 2 and "not UTF-8 (byte 0xff at offset 3)" in result.err
    saved = Path(result.err.rsplit("saved to ", 1)[1].strip())
    assert saved.read_bytes() == raw and talk.file(conv_id) == before


def test_json_output_is_ascii_so_raw_json_is_inert(talk: Talk) -> None:
    opened = talk(
        "open",
        "--topic",
        "café décision",
        "--as",
        "alpha",
        "--with",
        "beta",
        "--body",
        "evil \u202e bidi \u2066 and \x9b and é",
    )
    assert opened.code == 0, opened
    conv_id = opened.first
    assert "é" in talk("list").out  # the topic is not ASCII: `list --json` must escape it
    for args in (["show", conv_id, "--json"], ["list", "--json"], ["search", "evil", "--json"]):
        out = talk(*args).out
        assert out.isascii(), args
    assert "\\u202e" in talk("show", conv_id, "--json").out  # kept, escaped
    assert json.loads(talk("show", conv_id, "--json").out)["blocks"][0]["body"].endswith("é")


def test_small_refusals_are_one_line_with_the_fix(
    talk: Talk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv_id = talk.open()
    dash = talk("inject", conv_id, "--body", "-x")
    assert dash.code == 2 and "goes as --body=VALUE" in dash.err
    assert talk("inject", conv_id, "--body=-x").code == 0
    one_line_error(talk("search", " "), 2, "query is empty")
    far = talk(
        "open",
        "--topic",
        "t",
        "--as",
        "a",
        "--with",
        "b",
        "--waiting-limit",
        "9999h",
        "--body",
        "x",
    )
    assert far.code == 2 and "over 7 days" in far.err
    replay = run_talkroom("--root", str(talk.root.path), "replay", conv_id)
    assert replay.returncode == 2 and b"needs a terminal" in replay.stderr
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("TALKROOM_STATE_DIR", str(blocked))
    refused = talk("reply", conv_id, "--as", "alpha", "--next", "beta", stdin="from stdin")
    saved = Path(refused.err.rsplit("saved to ", 1)[1].strip())
    assert refused.code == 1 and saved.read_text() == "from stdin"  # in the temporary folder
