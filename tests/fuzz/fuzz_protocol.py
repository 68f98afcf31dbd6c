"""Coverage-guided fuzzing (atheris) of what reads untrusted bytes: the conversation parser,
the header loader, the sanitiser, the journal, the watcher's cursor and lock holders.

    python tests/fuzz/fuzz_protocol.py -max_total_time=60 tests/fuzz/corpus

Every input must either parse or be refused with Unreadable (never another exception);
what parses must render and parse again to the same header and bodies; the fast header
path must agree with PyYAML's BaseLoader; sanitised text must hold no terminal control;
a damaged journal or cursor loses only what is damaged and never raises; what they render
parses back the same.
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    from talkroom.core import codec, header, journal, sanitise, stale
    from talkroom.core.errors import Unreadable
    from talkroom.watch import cursor as receipts

CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def parse_and_render(data: bytes) -> None:
    try:
        conv = codec.parse(data)
    except Unreadable:
        return
    again = codec.parse(codec.render(conv))
    assert again.header == conv.header, (conv.header, again.header)
    assert [b.body for b in again.blocks] == [b.body for b in conv.blocks]
    assert again.trailer_ok or again.legacy


def load_header(text: str) -> None:
    try:
        parsed = header.parse_header(text)
    except Unreadable:
        return
    fast = header.parse_fast(text)
    if fast is not None:
        assert fast == header.parse_yaml(text) == parsed


def sanitise_text(text: str) -> None:
    assert not CONTROLS.search(sanitise.sanitise(text))
    line = sanitise.sanitise_line(text)
    assert "\n" not in line and "\t" not in line and not CONTROLS.search(line)


def read_journal(data: bytes) -> None:
    parsed = journal.parse(data)
    if parsed is not None:
        again = journal.parse(parsed.render())
        assert again is not None
        assert [(e.block_id, e.text) for e in again.kept + again.lost] == [
            (e.block_id, e.text) for e in parsed.kept + parsed.lost
        ]


def read_cursor(data: bytes) -> None:
    parsed, _bad = receipts.parse_cursor(data)
    again, bad = receipts.parse_cursor(receipts.render_cursor("h", parsed))
    assert again == parsed and bad == 0, (parsed, again)


def read_holder(data: bytes) -> None:
    holder = stale.Holder.parse(data)
    if holder is not None:
        assert stale.Holder.parse(holder.line()) is not None


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, rest = data[0] % 6, data[1:]
    if which == 0:
        parse_and_render(rest)
    elif which == 1:
        load_header(rest.decode("utf-8", "replace"))
    elif which == 2:
        sanitise_text(rest.decode("utf-8", "surrogateescape"))
    elif which == 3:
        read_journal(rest)
    elif which == 4:
        read_cursor(rest)
    else:
        read_holder(rest)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
