"""What the helper and the MCP tools find the same way: the last N blocks, the decisions."""

from __future__ import annotations

import pytest

from talkroom.core import lookup
from tests.conftest import Talk


def test_show_last_more_than_half_the_blocks_shows_them_all(talk: Talk) -> None:
    # `--last 3` of 2 blocks used to show 1: the start index went negative.
    conv_id = talk.open()
    assert talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "two").code == 0
    for last, kinds in (("3", 2), ("2", 2), ("1", 1), ("0", 0)):
        out = talk("show", conv_id, "--last", last).out
        assert out.count("\n## ") == kinds, (last, out)


def test_decisions_are_the_closed_conversations_with_a_resolution_newest_first(
    talk: Talk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T10:00:00Z")
    ids = [talk.open() for _ in range(3)]
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T11:00:00Z")
    talk("close", ids[2], "--resolution", "earlier")
    monkeypatch.setenv("TALKROOM_FAKE_NOW", "2026-11-21T12:00:00Z")
    talk("close", ids[0], "--resolution", "later")
    convs = [s.conv for s in lookup.listed(talk.root) if s.conv is not None]
    assert [c.resolution for c in lookup.decisions(convs)] == ["later", "earlier"]
