"""Coverage-guided fuzzing (atheris) of what reads untrusted bytes: the conversation parser,
the header loader and the sanitiser.

    python tests/fuzz/fuzz_protocol.py -max_total_time=60 tests/fuzz/corpus

Every input must either parse or be refused with Unreadable (never another exception);
what parses must render and parse again to the same header and bodies; the fast header
path must agree with PyYAML's BaseLoader; sanitised text must hold no terminal control.
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    from talkroom.core import codec, header, sanitise
    from talkroom.core.errors import Unreadable

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


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


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, rest = data[0] % 3, data[1:]
    if which == 0:
        parse_and_render(rest)
    elif which == 1:
        load_header(rest.decode("utf-8", "replace"))
    else:
        sanitise_text(rest.decode("utf-8", "replace"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
