"""Delivery history that grows forever stays cheap: a host's deliveries.jsonl is set aside
in dated segments; a live tail misses nothing across a set-aside, one conversation's
history reads only the segments of its time, and the watcher's memory of what it typed
survives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from talkroom.core import clock, receipts
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt, ReceiptTail, append_receipt, receipts_for
from talkroom.watch.cursor import typed_by_receipts

T0 = 1_790_000_000.0  # 2026-09-21


def receipt(n: int, conv: str = "c1", outcome: str = "delivered") -> Receipt:
    """The n-th receipt, n minutes after T0."""
    return Receipt("h1", clock.iso(T0 + 60 * n), conv, f"a{n}", n, "bob", "%1", outcome, 100)


@pytest.fixture
def small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set aside after ~10 lines instead of 1 MiB."""
    monkeypatch.setattr(receipts, "ROTATE_AT", 1500)


def test_the_current_file_is_set_aside_in_dated_segments(root: Root, small_files: None) -> None:
    for n in range(100):
        append_receipt(root, "h1", receipt(n))
    folder = root.host_dir("h1")
    parts = receipts.segments(folder)
    assert len(parts) >= 5
    assert (folder / "deliveries.jsonl").stat().st_size < 1500 + 300
    assert parts[0][0] == receipt(0).at.replace("-", "").replace(":", "")  # its first time
    firsts = [first for first, _last, _path in parts]
    assert firsts == sorted(firsts) and all(first <= last for first, last, _p in parts)
    everything = receipts.read_receipts(root, "h1")
    assert [r.assignment for r in everything] == [f"a{n}" for n in range(100)]


def test_a_live_tail_sees_every_receipt_once_across_set_asides(
    root: Root,
    small_files: None,
) -> None:
    tail = ReceiptTail(root)
    seen: list[str] = []
    for n in range(200):
        append_receipt(root, "h1", receipt(n))
        if n % 7 == 0:  # looks now and then, so set-asides happen between two looks
            seen += [r.assignment for r in tail.poll()]
    seen += [r.assignment for r in tail.poll()]
    assert seen == [f"a{n}" for n in range(200)]
    # A tail started late knows the newest segment too: the latest state at once.
    late = [r.assignment for r in ReceiptTail(root).poll()]
    assert late[-1] == "a199" and len(late) > 10


def test_one_conversation_s_history_reads_only_its_segments(
    root: Root,
    small_files: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(300):
        append_receipt(root, "h1", receipt(n, conv="c2" if 100 <= n < 110 else "c1"))
    opened: list[Path] = []
    real = receipts.read_new_lines

    def spy(path: Path | str, *args: object) -> tuple[bytes, int, int]:
        opened.append(Path(path))
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(receipts, "read_new_lines", spy)
    found = receipts_for(root, "c2", clock.iso(T0 + 60 * 100), clock.iso(T0 + 60 * 109))
    assert [r.assignment for r in found] == [f"a{n}" for n in range(100, 110)]
    total = len(receipts.segments(root.host_dir("h1")))
    assert len(opened) <= 4 < total, (len(opened), total)


def test_what_was_typed_is_remembered_across_a_set_aside(root: Root, small_files: None) -> None:
    append_receipt(root, "h1", receipt(0, conv="slow"))  # typed long ago, still current
    for n in range(1, 12):
        append_receipt(root, "h1", receipt(n, conv=f"other{n}"))
    assert receipts.segments(root.host_dir("h1")), "nothing was set aside"
    typed = typed_by_receipts(root, "h1")
    assert typed["slow"][0] == "a0" and "bob" in typed["slow"][1]


def test_a_link_planted_as_a_segment_name_is_never_written_through(
    root: Root,
    small_files: None,
    tmp_path: Path,
) -> None:
    for n in range(8):
        append_receipt(root, "h1", receipt(n))
    victim = tmp_path / "victim"
    victim.write_text("mine")
    folder = root.host_dir("h1")
    first = clock.iso(T0).replace("-", "").replace(":", "")
    for name in os.listdir(folder):
        if name.startswith("deliveries-"):
            os.unlink(folder / name)
    planted = folder / f"deliveries-{first}-{first}.jsonl"
    planted.symlink_to(victim)
    for n in range(8, 30):
        append_receipt(root, "h1", receipt(n))
    assert victim.read_text() == "mine" and planted.is_symlink()
