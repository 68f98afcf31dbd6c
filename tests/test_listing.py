"""A list's read of conversation files (core/listing.py), the tracker reading in chunks,
and the console's messages merging a burst: each against the whole parse, on real files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talkroom.console.messages import ConversationsChanged, ReceiptsArrived
from talkroom.core import codec, moderate, ops
from talkroom.core.errors import Unreadable
from talkroom.core.header import parse_header, render_header
from talkroom.core.listing import Listed, _plain_header, parse_listing
from talkroom.core.paths import Root
from talkroom.core.store import Reader, Snapshot, read_bytes
from talkroom.watch.tracker import Tracker

KEYS = st.from_regex(r"\A[a-z]([a-z ]{0,10}[a-z])?\Z")
VALUES = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", " x", "x ", "a: b", "a #b", "a#b", "x:", "...x", "---", "- a", "'q'", '"q"', "ok"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8))
def test_the_plain_header_reading_agrees_with_parse_header(header: dict[str, str]) -> None:
    text = render_header(header).split("\n", 1)[1].rsplit("---\n", 1)[0]
    assert _plain_header(text) == parse_header(text)


@pytest.mark.parametrize(
    "text",
    [
        "topic: a\ntopic: b\n",  # twice: refused, as parse_header refuses it
        "topic: a\n  odd: b\n",
        "next: x\nstatus: [a\n",
    ],
)
def test_the_plain_header_reading_refuses_what_parse_header_refuses(text: str) -> None:
    with pytest.raises(Unreadable):
        parse_header(text)
    with pytest.raises(Unreadable):
        _plain_header(text)


def _conversation(root: Root, tail: str) -> str:
    """A conversation with structure-like bodies, a long body, and `tail` at its end:
    `reply` (a turn that assigns), `pause` (a moderator block without NEXT after the
    assignment), or `inject` (one with NEXT)."""
    plan = ops.plan_open(
        root, topic="listing", opener="ada", with_=["linus"], body="opening", max_turns=50
    )
    conv_id = ops.open_conversation(root, plan, "h").conv.id
    bodies = [
        "NEXT: nobody\n## Reply -- mallory @ 2026-01-01T00:00:00Z\nTurn 9/9",
        "x" * 5000,
        "a line -- with @ signs\n\nNEXT:",
        "short",
    ]
    who = ["linus", "ada"]
    for i, body in enumerate(bodies):
        plan = ops.plan_reply(root, conv_id, author=who[i % 2], next_=[who[(i + 1) % 2]], body=body)
        ops.run(plan, "h")
    if tail == "pause":
        ops.run(moderate.plan_moderate(root, conv_id, "pause", moderator="mod", body="x"), "h")
        ops.run(moderate.plan_moderate(root, conv_id, "inject", moderator="mod", body="y"), "h")
    elif tail == "inject":
        plan = moderate.plan_moderate(
            root, conv_id, "inject", moderator="mod", body="z", next_=["moderator"]
        )
        ops.run(plan, "h")
    return conv_id


@pytest.mark.parametrize("tail", ["reply", "pause", "inject"])
def test_a_listing_holds_what_the_whole_parse_says(root: Root, tail: str) -> None:
    conv_id = _conversation(root, tail)
    path = root.conversation(conv_id)
    data = read_bytes(path)
    whole = codec.parse(data, conv_id)
    listed = parse_listing(data, conv_id)
    assert isinstance(listed, Listed)
    assert len(listed.latest) < len(whole.blocks)  # not every block was read
    assert listed.header == whole.header and listed.sha == whole.sha and listed.trailer_ok
    assert (listed.turns, listed.status, listed.next) == (whole.turns, whole.status, whole.next)
    ours, theirs = listed.assignment(), whole.assignment()
    assert ours is not None and theirs is not None
    assert (ours.block_id, ours.at, ours.next, ours.line) == (
        theirs.block_id,
        theirs.at,
        theirs.next,
        theirs.line,
    )
    listed.path = path
    # Every block, when asked for, is the file parsed whole.
    assert [(b.block_id, b.kind, b.body, b.next, b.line) for b in listed.blocks] == [
        (b.block_id, b.kind, b.body, b.next, b.line) for b in whole.blocks
    ]
    assert listed.has_block(whole.blocks[0].block_id or "")


def test_a_file_that_does_not_verify_is_parsed_whole(root: Root) -> None:
    conv_id = _conversation(root, "reply")
    data = read_bytes(root.conversation(conv_id)).replace(b"short", b"shirt")
    conv = parse_listing(data, conv_id)
    assert not isinstance(conv, Listed) and not conv.trailer_ok
    assert [b.block_id for b in conv.blocks] == [
        b.block_id for b in codec.parse(data, conv_id).blocks
    ]


def test_a_reader_with_the_listing_parse_keeps_its_rules(root: Root) -> None:
    conv_id = _conversation(root, "reply")
    path = root.conversation(conv_id)
    reader = Reader(parse=parse_listing)
    snap = reader.poll(path)
    assert isinstance(snap.conv, Listed) and snap.conv.path == path
    # A torn or hand-edited file is waited out, as by a reader that parses whole.
    path.write_bytes(read_bytes(path).replace(b"short", b"shirt"))
    assert reader.poll(path).pending


def _files(root: Root, count: int) -> list[Path]:
    """`count` conversation files, each newer than the one before."""
    paths = []
    for i in range(count):
        plan = ops.plan_open(root, topic=f"t{i}", opener="ada", with_=["linus"], body="hi")
        path = root.conversation(ops.open_conversation(root, plan, "h").conv.id)
        os.utime(path, ns=(i * 10**9, (1000 + i) * 10**9))
        paths.append(path)
    return paths


def test_the_tracker_reads_a_limited_look_newest_first(root: Root) -> None:
    paths = _files(root, 9)
    tracker = Tracker(root, poll=True, reader=Reader(parse=parse_listing))
    tracker.start()
    try:
        seen = []
        while True:
            updates, _removed = tracker.tick(limit=4)
            seen.append([s.conv_id for s in updates])
            if not tracker.behind:
                break
        newest = [p.name[:-3] for p in reversed(paths)]
        assert seen == [newest[:4], newest[4:8], newest[8:]]
        assert tracker.tick(limit=4) == ([], [])
    finally:
        tracker.stop()


def _snap(name: str, error: str) -> Snapshot:
    return Snapshot(Path(f"/nowhere/{name}.md"), error=error)


def test_a_message_takes_newer_changes_in_until_it_is_read() -> None:
    message = ConversationsChanged([_snap("a", "1"), _snap("b", "1")], [])
    assert message.merge([_snap("a", "2")], ["b"])
    assert message.merge([_snap("c", "1")], [])
    assert not message.merge([_snap("c", "2")], [], loading=True)  # the first look's: apart
    assert [(s.conv_id, s.error) for s in message.updates] == [("a", "2"), ("c", "1")]
    assert message.removed == ["b"] and message.read.is_set()
    assert not message.merge([_snap("d", "1")], [])  # read: the screen has it already
    receipts = ReceiptsArrived([])
    assert receipts.merge([]) and receipts.receipts == [] and not receipts.merge([])
