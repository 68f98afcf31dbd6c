"""Names, ids and limits (docs/protocol.md section 2)."""

from __future__ import annotations

import pytest

from talkroom.core import clock
from talkroom.core.errors import BadInput
from talkroom.core.names import (
    NAME_RE,
    check_name,
    new_block_id,
    new_conversation_id,
    normalise_name,
    split_names,
    with_suffix,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("session-a", "session-a"),
        ("Codex", "codex"),
        ("  b2 ", "b2"),
        ("0", "0"),
        ("a" * 63, "a" * 63),
    ],
)
def test_valid_names_are_lower_cased(raw: str, expected: str) -> None:
    assert check_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "-a",
        "a.b",
        "../etc",
        "a/b",
        "a_b",
        "a b",
        "a" * 64,
        "é",
        "a:b",
        ".hidden",
        "%1",
    ],
)
def test_invalid_names_are_refused_with_the_rule(raw: str) -> None:
    with pytest.raises(BadInput, match="a-z, 0-9"):
        check_name(raw, "session name")


@pytest.mark.parametrize("raw", ["moderator", "ALL", "none"])
def test_reserved_names(raw: str) -> None:
    with pytest.raises(BadInput, match="reserved"):
        check_name(raw)
    assert check_name(raw, allow_reserved=True) == raw.lower()


def test_normalise_name_always_gives_a_valid_name() -> None:
    for raw in ["Jörg Müller", "root", "", "***", "MODERATOR", "x" * 200, "my.host.local"]:
        assert NAME_RE.match(normalise_name(raw))
    assert normalise_name("Jörg Müller") == "jorg-muller"
    assert normalise_name("moderator") == "user"


def test_split_names() -> None:
    assert split_names("a, b ,c") == ["a", "b", "c"]
    assert split_names("none") == []
    assert split_names("") == []
    assert split_names(["a", "b"]) == ["a", "b"]


def test_conversation_ids() -> None:
    now = clock.parse_iso("2026-11-21T13:45:02Z")
    base = new_conversation_id("PyTorch version: sanity?", now)
    assert base == "20261121-134502-pytorch-version-sanity"
    assert with_suffix(base, 1) == base
    assert with_suffix(base, 2) == base + "-2"
    long = new_conversation_id("x" * 300, now)
    assert NAME_RE.match(long) and NAME_RE.match(with_suffix(long, 10))
    assert new_conversation_id("!!!", now).endswith("-talk")


def test_block_ids_are_unique_and_time_ordered() -> None:
    ids = [new_block_id(1_700_000_000 + i) for i in range(50)]
    assert ids == sorted(ids)
    assert len(set(new_block_id(1.0) for _ in range(20000))) == 20000
    assert all(NAME_RE.match(i) for i in ids)


def test_clock_round_trip_and_loose_stamps() -> None:
    for text in ["1970-01-01T00:00:00Z", "2026-11-21T13:45:02Z", "2000-02-29T23:59:59Z"]:
        assert clock.iso(clock.parse_iso(text)) == text
    assert clock.parse_loose("2026-05-27 16:22") == clock.parse_iso("2026-05-27T16:22:00Z")
    assert clock.parse_loose("2026-05-27T18:22:00+02:00") == clock.parse_iso("2026-05-27T16:22:00Z")
    assert clock.parse_loose("yesterday") is None
    with pytest.raises(ValueError):
        clock.parse_iso("2026-13-01T00:00:00Z")
