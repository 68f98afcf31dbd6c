"""A writer's read of a long file: its header and latest blocks, the rest left as bytes.

A file whose trailer verifies is exactly what talkroom wrote, so its earlier blocks were
checked when they were written: a reply needs only the header (status, next, turns), the
current assignment and the journal's last blocks. The earlier blocks' bytes are written
back unchanged (`codec.render`) and parsed only if someone asks for them
(`Conversation.blocks`). A reply into a long conversation then costs about what rewriting
the file costs, not parsing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from talkroom.core.codec import (
    HEADING_RE,
    check,
    digest,
    parse_blocks,
    trailer_match,
)
from talkroom.core.header import parse_header
from talkroom.core.model import Conversation
from talkroom.core.names import MAX_HEADER_BYTES

TAIL_BLOCKS = 24  # at least this many of the latest blocks are parsed (the journal: 16)
TAIL_WINDOW = 64 * 1024  # where they are looked for first; doubled until they are found
_HEADER_END = re.compile(rb"^---[ \t\r]*$\n?", re.M)
# UTF-8 never puts a newline byte inside a character: the pattern reads bytes as it reads
# text, and a heading found in bytes starts where it starts in the text.
_HEADING = re.compile(b"\n" + HEADING_RE.pattern[1:].encode(), re.M)


class Front(NamedTuple):
    """A verified file's front: where its trailer starts, its digest, its header (parsed and
    as text) and where its first block may start."""

    limit: int
    sha: str
    header: dict[str, str]
    header_text: str
    rest: int


def verified_front(
    data: bytes,
    trailer: re.Match[bytes],
    read_header: Callable[[str], dict[str, str]],
    hash_hex: Callable[[memoryview], str],
) -> Front | None:
    """The front of a file whose trailer verifies (digest, revision, a turns count); None
    when anything disagrees, and the file is then parsed whole, which says what."""
    limit = trailer.start()
    if limit == 0 or data[limit - 1] != 0x0A or not data.startswith((b"---\n", b"---\r\n")):
        return None
    sha = hash_hex(memoryview(data)[:limit])
    if sha != trailer.group(2).decode():
        return None
    start = data.index(b"\n") + 1
    end = _HEADER_END.search(data, start, limit)
    if end is None or end.start() - start > MAX_HEADER_BYTES:
        return None
    header_text = data[start : end.start()].decode("utf-8", "surrogateescape")
    header_text = header_text.replace("\r\n", "\n")
    header = read_header(header_text)
    revision, turns = header.get("revision", ""), header.get("turns", "")
    if not (revision.isdigit() and turns.isdigit() and int(revision) == int(trailer.group(1))):
        return None
    return Front(limit, sha, header, header_text, end.end())


def parse_latest(data: bytes, conv_id: str) -> Conversation | None:
    """The header and latest blocks of a long verified file; None when the file is short
    or does not verify (then it is parsed whole, which also reports what is wrong)."""
    trailer = trailer_match(data)
    if len(data) < 2 * TAIL_WINDOW or trailer is None:
        return None
    front = verified_front(data, trailer, lambda text: parse_header(text, first_line=2), digest)
    if front is None:
        return None
    limit, sha, header, header_text, rest = front
    turns = header["turns"]
    first = _HEADING.search(b"\n" + data[rest : rest + 4096])
    cut = _cut(data, rest + first.start(), limit) if first is not None else None
    if first is None or cut is None:
        return None
    first_at = rest + first.start()
    first_line = data.count(b"\n", 0, first_at) + 1
    blocks = parse_blocks(
        data[cut:limit].decode("utf-8", "surrogateescape"),
        first_line + data.count(b"\n", first_at, cut),
    )
    earlier = int(turns) - sum(1 for b in blocks if b.is_turn)
    conv = Conversation(
        conv_id, header, blocks, data[rest:first_at].decode("utf-8", "surrogateescape")
    )
    conv.unparsed = (data[first_at:cut], first_line, earlier)
    conv.sha = sha
    conv.trailer_ok = True
    check(conv, header_text)
    return conv


def _cut(data: bytes, first: int, limit: int) -> int | None:
    """Where the latest TAIL_BLOCKS blocks begin (after the first block, at `first`)."""
    window = TAIL_WINDOW
    while window < limit - first:
        at = data.rfind(b"\n", first, limit - window) + 1  # a line's start: no false heading
        found = [m.start() for m in _HEADING.finditer(b"\n" + data[at:limit])]
        if len(found) > TAIL_BLOCKS and at + found[0] > first:
            return at + found[0]
        window *= 2
    return None
