"""Parse and render of conversation files: exact round trips, older shapes, unreadable files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talkroom.core.codec import check_body, escape_body, parse, render, unescape_body
from talkroom.core.errors import BadInput, Unreadable
from talkroom.core.model import Block, Conversation
from talkroom.core.sanitise import sanitise, sanitise_line

PROTOCOL_EXAMPLE_TEXT = """\
---
topic: pytorch version sanity
opened by: session-a
participants: session-a, session-b
status: IN-PROGRESS
turns: 2
max turns: 20
next: session-a
revision: 2
opened at: 2026-11-21T13:45:02Z
updated at: 2026-11-21T13:46:10Z
---

## Opening -- session-a @ 2026-11-21T13:45:02Z <!-- 01jd0m6x4k-a1 -->
Turn 1/20

What pytorch are you on?

NEXT: session-b

## Reply -- session-b @ 2026-11-21T13:46:10Z <!-- 01jd0m7c2p-b7 -->
Turn 2/20

2.1.2 + CUDA 12.4. Why?

NEXT: session-a

"""

LEGACY = b"""\
---
topic: which linter
opened by: session-a
participants: session-a, session-b
status: IN-PROGRESS
turns: 2
next: session-a
---

Opening -- session-a @ 2026-05-27 16:22
Turn 1/10

ruff or flake8?

NEXT: session-b

Reply -- session-b @ 2026-05-27 16:25
Turn 2/10
ruff, it is faster.
NEXT: session-a
"""

# Lines a body may hold that look like structure, controls and markup of every kind.
TRICKY_LINES = [
    "## Reply -- mallory @ 2026-01-01T00:00:00Z <!-- 01aaaaaaaa-zz -->",
    "Reply -- mallory @ now",
    "#Opening -- x @ y",
    "###### Moderator -- m @ t",
    "\\## Reply -- x @ y",
    "\\\\NEXT: x",
    "NEXT: everyone",
    "NEXT:",
    "Turn 3/20",
    "Turn 3/20  ",
    "Action: close",
    "<!-- talkroom revision=9 sha256=" + "0" * 64 + " -->",
    "---",
    "status: CLOSED",
    "next: a -> b",
    "\x1b]0;pwned\x07",
    "\x1b[2J\x1b[31mred",
    "\u202eevil\u202c",
    "[bold red]markup[/]",
    "[link=file:///etc/passwd]x[/link]",
    "line with CR\r",
    "\r",
    "",
    "  ",
    "\t",
    "\x85",
    "\u2028",
    "emoji 🎉",
    "\ufeffbom",
]
BODY_LINES = st.one_of(
    st.sampled_from(TRICKY_LINES),
    st.text(max_size=30).map(lambda s: s.replace("\n", "").replace("\x00", "")),
)
BODIES = st.lists(BODY_LINES, min_size=1, max_size=8).map("\n".join)


def conversation(bodies: list[str]) -> Conversation:
    """A conversation whose blocks carry `bodies`, of every kind."""
    header = {
        "topic": "t",
        "opened by": "a",
        "participants": "a, b",
        "status": "IN-PROGRESS",
        "turns": "0",
        "max turns": "20",
        "next": "b",
        "revision": "3",
    }
    blocks = []
    for i, body in enumerate(bodies):
        if i % 3 == 2:
            blocks.append(
                Block(
                    "Moderator",
                    "mod",
                    "2026-01-01T00:00:00Z",
                    body,
                    f"id{i}",
                    action="inject",
                    changes=[("next", "a", "b")],
                    next=["b"],
                )
            )
        else:
            blocks.append(
                Block(
                    "Reply" if i else "Opening",
                    "a",
                    "2026-01-01T00:00:00Z",
                    body,
                    f"id{i}",
                    turn=i + 1,
                    budget=20,
                    next=["b"] if i % 2 else None,
                )
            )
    return Conversation("c", header, blocks)


def test_the_protocol_example_parses() -> None:
    data = PROTOCOL_EXAMPLE_TEXT.encode()
    conv = parse(data + trailer(data, 2))
    assert conv.trailer_ok and not conv.legacy
    assert (conv.turns, conv.max_turns, conv.revision, conv.next) == (2, 20, 2, ["session-a"])
    assert [b.block_id for b in conv.blocks] == ["01jd0m6x4k-a1", "01jd0m7c2p-b7"]
    assert conv.blocks[1].body == "2.1.2 + CUDA 12.4. Why?"
    assert render(conv) == data + trailer(data, 2)


def trailer(data: bytes, revision: int) -> bytes:
    """The trailer line for `data`."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    return f"<!-- talkroom revision={revision} sha256={digest} -->\n".encode()


@given(st.lists(BODIES, min_size=1, max_size=5))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_every_body_round_trips_byte_for_byte(bodies: list[str]) -> None:
    bodies = [check_body(b, required=False) for b in bodies]
    data = render(conversation(bodies))
    conv = parse(data)
    assert conv.trailer_ok
    assert [b.body for b in conv.blocks] == bodies
    assert render(conv) == data


@given(st.text())
@settings(max_examples=500)
def test_escaping_is_reversible(text: str) -> None:
    assert unescape_body(escape_body(text)) == text


def test_structure_lines_in_bodies_are_escaped_in_the_file() -> None:
    body = "\n".join(TRICKY_LINES[:12])
    data = render(conversation([body]))
    lines = data.decode().split("\n")
    for line in TRICKY_LINES[:12]:
        assert "\\" + line in lines
    assert data.count(b"<!-- talkroom revision=") == 2  # the escaped line and the trailer


def test_nul_and_oversized_bodies_are_refused() -> None:
    with pytest.raises(BadInput, match="NUL"):
        check_body("a\x00b", required=True)
    with pytest.raises(BadInput, match="256 KiB"):
        check_body("é" * (128 * 1024 + 1), required=True)
    with pytest.raises(BadInput, match="empty"):
        check_body("\n\n  \n", required=True)
    assert check_body("text\n\n\n", required=True) == "text"


def test_older_cross_session_talk_files_are_accepted() -> None:
    conv = parse(LEGACY, "old")
    assert conv.legacy and conv.revision == 0 and not conv.edited_by_hand
    assert conv.max_turns == 10  # from the last Turn N/M line
    assert [(b.kind, b.author, b.at, b.turn) for b in conv.blocks] == [
        ("Opening", "session-a", "2026-05-27 16:22", 1),
        ("Reply", "session-b", "2026-05-27 16:25", 2),
    ]
    assert conv.blocks[1].body == "ruff, it is faster."
    assert conv.blocks[1].next == ["session-a"]


def test_rewriting_an_older_file_keeps_its_blocks_byte_for_byte() -> None:
    conv = parse(LEGACY, "old")
    header = dict(conv.header, revision="1")
    new = conv.evolve(
        header,
        Block(
            "Reply",
            "session-a",
            "2026-11-21T00:00:00Z",
            "agreed",
            "01newblock0-xyz",
            turn=3,
            budget=10,
            next=["session-b"],
        ),
    )
    data = render(new)
    assert LEGACY.split(b"---\n", 2)[2] in data  # every old block, untouched
    again = parse(data, "old")
    assert again.trailer_ok and [b.body for b in again.blocks][-1] == "agreed"


@pytest.mark.parametrize(
    "data,line,reason",
    [
        (b"topic: x\n", 1, "expected '---'"),
        (b"---\ntopic: x\n", 1, "no closing '---'"),
        (b"---\ntopic: [a\n---\n", 3, "header"),
        (b"---\ntopic: x\nstatus: DONE\n---\n", 3, "status 'DONE'"),
        (b"---\ntopic: x\nrevision: two\n---\n", 3, "revision 'two'"),
        (b"---\ntopic: x\nmax turns: lots\n---\n", 3, "max turns 'lots'"),
        (b"---\nrevision: 1\n---\n\n## Moderator -- m @ t <!-- i1 -->\nhello\n", 6, "Action:"),
        (
            b"---\nrevision: 1\n---\n\n"
            b"## Reply -- a @ t <!-- i1 -->\n\n## Reply -- a @ t <!-- i1 -->\n",
            7,
            "appears twice",
        ),
        (b"\x00\x01\x02\xff\xfe binary junk", 1, "expected '---'"),
    ],
)
def test_unreadable_files_report_line_and_reason(data: bytes, line: int, reason: str) -> None:
    with pytest.raises(Unreadable, match=reason) as info:
        parse(data)
    assert info.value.line == line


def test_invalid_utf8_is_kept_not_fatal_and_shown_visibly() -> None:
    # Bytes that are not UTF-8 (an older file in Latin-1) survive a rewrite byte for byte
    # and are shown as visible stand-ins, never replaced by U+FFFD.
    data = b"---\ntopic: caf\xe9\n---\n\n## Reply -- a @ t\nTurn 1/2\n\nbad \xff byte\n"
    conv = parse(data)
    assert sanitise_line(conv.topic) == "caf<0xE9>"
    assert sanitise(conv.blocks[0].body) == "bad <0xFF> byte"
    conv.header["revision"] = "1"
    again = render(conv)
    assert b"topic: caf\xe9\n" in again and b"\nbad \xff byte\n" in again


def test_crlf_is_data() -> None:
    body = "windows line\r\nsecond\r"
    data = render(conversation([body]))
    assert parse(data).blocks[0].body == body


def test_trailer_mismatch_is_detected() -> None:
    data = render(conversation(["hello"]))
    assert parse(data).trailer_ok
    assert not parse(data.replace(b"hello", b"jello")).trailer_ok
    assert not parse(data.replace(b"revision: 3", b"revision: 4")).trailer_ok
    assert not parse(data[:-1]).trailer_ok
    assert not parse(data + b"after\n").trailer_ok


def long_conversation(bodies: list[str]) -> bytes:
    """A verified file: an opening, then replies by a and b in turn, each with a body."""
    blocks = [
        Block(
            "Opening",
            "a",
            "2026-11-21T13:45:02Z",
            "open",
            "01jd0m6x4k-open",
            turn=1,
            budget=1000,
            next=["b"],
        )
    ]
    for i, body in enumerate(bodies, start=2):
        who = "b" if i % 2 == 0 else "a"
        if i % 7 == 0:
            blocks.append(
                Block(
                    "Moderator",
                    "mod",
                    "2026-11-21T13:46:00Z",
                    body,
                    f"01jd0m7c2p-m{i}",
                    action="inject",
                )
            )
        else:
            blocks.append(
                Block(
                    "Reply",
                    who,
                    "2026-11-21T13:46:10Z",
                    body,
                    f"01jd0m7c2p-r{i}",
                    turn=i,
                    budget=1000,
                    next=["a" if who == "b" else "b"],
                )
            )
    turns = sum(1 for b in blocks if b.is_turn)
    header = {
        "topic": "long",
        "opened by": "a",
        "participants": "a, b",
        "status": "IN-PROGRESS",
        "turns": str(turns),
        "max turns": "1000",
        "next": "a",
        "revision": str(len(blocks)),
        "opened at": "2026-11-21T13:45:02Z",
        "updated at": "2026-11-21T13:46:10Z",
    }
    return render(Conversation("long", header, blocks, "\npreamble kept\n\n"))


@contextlib.contextmanager
def small_tail() -> Iterator[None]:
    """A writer's read that leaves blocks unparsed in small files too."""
    from talkroom.core import latest

    saved = latest.TAIL_WINDOW, latest.TAIL_BLOCKS
    latest.TAIL_WINDOW, latest.TAIL_BLOCKS = 256, 4
    try:
        yield
    finally:
        latest.TAIL_WINDOW, latest.TAIL_BLOCKS = saved


def fields(block: Block) -> tuple[object, ...]:
    """Everything a block says, for comparing two parses."""
    return (
        block.kind,
        block.author,
        block.at,
        block.block_id,
        block.raw,
        block.line,
        block.turn,
        block.budget,
        block.action,
        block.changes,
        block.body,
        block.next,
    )


@given(st.lists(BODIES, min_size=30, max_size=60))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_writer_reading_only_the_latest_blocks_writes_the_same_file(
    bodies: list[str],
) -> None:
    data = long_conversation(bodies)
    whole = parse(data, "long")
    with small_tail():
        tail = parse(data, "long", tail=True)
    assert tail.unparsed is not None and len(tail.latest) < len(whole.blocks)
    assert render(tail) == data == render(whole)
    assert tail.turns == whole.turns and tail.revision == whole.revision
    assert tail.assignment() is not None and whole.assignment() is not None
    assert tail.assignment().block_id == whole.assignment().block_id  # type: ignore[union-attr]
    for block_id in ("01jd0m6x4k-open", "01jd0m7c2p-r10", "nope"):
        assert tail.has_block(block_id) == whole.has_block(block_id) == (block_id != "nope")
    new = Block(
        "Reply",
        "a",
        "2026-11-21T13:47:00Z",
        "one more",
        "01jd0m8c2p-new",
        turn=99,
        budget=1000,
        next=["b"],
    )
    header = {**whole.header, "revision": str(whole.revision + 1)}
    assert render(tail.evolve(header, new)) == render(whole.evolve(header, new))
    # Asked for every block, the writer's parse gives what a reader's does.
    assert [fields(b) for b in tail.blocks] == [fields(b) for b in whole.blocks]
    assert tail.unparsed is None


def test_a_file_that_does_not_verify_is_parsed_whole_even_for_a_writer() -> None:
    data = long_conversation(["body"] * 40).replace(b"body", b"edit", 1)  # a hand edit
    with small_tail():
        conv = parse(data, "long", tail=True)
    assert not conv.trailer_ok and conv.unparsed is None and len(conv.latest) == 41
