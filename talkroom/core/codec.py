"""Parse and render conversation files (docs/protocol.md section 3), byte for byte."""

from __future__ import annotations

import re

from talkroom.core.errors import BadInput, Unreadable
from talkroom.core.header import parse_header, render_header
from talkroom.core.model import STATUSES, Block, Conversation
from talkroom.core.names import MAX_BODY_BYTES, MAX_FILE_BYTES, MAX_HEADER_BYTES, split_names

# hashlib loads OpenSSL (~3 ms of the helper's start-up); the builtin module is enough.
try:
    from _sha2 import sha256  # type: ignore[import-not-found]  # CPython >= 3.12
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # CPython 3.11
    except ImportError:
        from hashlib import sha256

HEADING_RE = re.compile(
    r"^(?:#{1,6} *)?(Opening|Reply|Moderator) -- (.+?) @ (.+?)"
    r"(?: <!-- ([0-9a-z][0-9a-z-]{0,62}) -->)?[ \t\r]*$"
)
# A heading after a newline: a pattern that starts with a literal is searched at C speed,
# where `^` with re.M would be tried at every offset of a long file.
_HEADING_AFTER_NEWLINE = re.compile("\n" + HEADING_RE.pattern[1:], re.M)
_TURN_RE = re.compile(r"^Turn (\d+)/(\d+)\s*$")
_ACTION_RE = re.compile(r"^Action: *([a-z-]+)\s*$")
_CHANGE_RE = re.compile(r"^([a-z][a-z ]*): (.*) -> (.*)$")
_NEXT_RE = re.compile(r"^NEXT: ?(.*?)\s*$")
TRAILER_RE = re.compile(rb"<!-- talkroom revision=(\d+) sha256=([0-9a-f]{64}) -->\n\Z")
_STRUCTURE = (
    r"(#{0,6} *(Opening|Reply|Moderator) -- |NEXT:|Turn \d+/\d+\s*$|Action:|<!-- talkroom )"
)
_NEEDS_ESCAPE = re.compile(r"^\\*" + _STRUCTURE)
_ESCAPED = re.compile(r"^\\+" + _STRUCTURE)


BIG = 256 * 1024  # from here on OpenSSL's SHA-256 (4-5x faster) is worth its import


def digest(*parts: bytes | memoryview) -> str:
    """SHA-256 of the parts, one after the other, as 64 lower-case hex digits."""
    if sum(len(part) for part in parts) >= BIG:
        import hashlib

        hasher = hashlib.sha256()
    else:
        hasher = sha256()
    for part in parts:
        hasher.update(part)
    hexdigest: str = hasher.hexdigest()
    return hexdigest


def escape_body(body: str) -> str:
    """Prefix one backslash to every body line that could be read as structure."""
    return "\n".join("\\" + ln if _NEEDS_ESCAPE.match(ln) else ln for ln in body.split("\n"))


def unescape_body(text: str) -> str:
    """Undo escape_body."""
    if "\\" not in text:
        return text  # nothing was escaped: the common case
    return "\n".join(ln[1:] if _ESCAPED.match(ln) else ln for ln in text.split("\n"))


def check_body(body: str, *, required: bool) -> str:
    """Normalise a body for writing: drop trailing newlines, enforce the limits."""
    if "\x00" in body:
        raise BadInput("the body contains a NUL byte; remove it and try again")
    body = body.rstrip("\n")
    if required and not body.strip():
        raise BadInput("the body is empty; give --body TEXT, --body-file PATH or standard input")
    size = len(body.encode("utf-8", "surrogateescape"))
    if size > MAX_BODY_BYTES:
        raise BadInput(
            f"the body is {size} bytes; the limit is {MAX_BODY_BYTES} (256 KiB): "
            "shorten it or put the detail in a file and name its path"
        )
    return body


def render_block(block: Block) -> str:
    """A block's text, ending with the blank line that separates it from the next."""
    if block.raw is not None:
        return block.raw
    heading = f"## {block.kind} -- {block.author} @ {block.at}"
    if block.block_id:
        heading += f" <!-- {block.block_id} -->"
    lines = [heading]
    if block.kind == "Moderator":
        lines.append(f"Action: {block.action}")
        lines.extend(f"{k}: {old} -> {new}" for k, old, new in block.changes)
    else:
        lines.append(f"Turn {block.turn}/{block.budget}")
    lines.append("")
    text = "\n".join(lines) + "\n"
    if block.body:
        text += escape_body(block.body) + "\n\n"
    if block.next is not None:
        text += f"NEXT: {', '.join(block.next) or 'none'}\n\n"
    return text


def _separator(previous: str) -> str:
    """Hand-written blocks may lack their closing blank line; keep blocks apart."""
    if previous.endswith("\n\n"):
        return ""
    return "\n" if previous.endswith("\n") else "\n\n"


def render_text(conv: Conversation, before: str = "") -> str:
    """Everything above the trailer: header, preamble and blocks. With `before` (the end
    of the earlier blocks' text, left unparsed), only the parsed blocks after it."""
    parts = [before] if before else [render_header(conv.header) + conv.preamble]
    for block in conv.latest:
        text = render_block(block)
        parts.append(_separator(parts[-1]))
        parts.append(text)
    parts.append(_separator(parts[-1]))
    return "".join(parts)[len(before) :]


def trailer_match(data: bytes) -> re.Match[bytes] | None:
    """The trailer line, looked for only where it can be: at the very end."""
    return TRAILER_RE.search(data, max(0, len(data) - 160))


def trailer_sha(data: bytes) -> str:
    """The digest named in the trailer of a file talkroom rendered."""
    m = trailer_match(data)
    return m.group(2).decode() if m else ""


def render(conv: Conversation) -> bytes:
    """The complete file: text plus the trailer over its exact bytes."""
    if conv.unparsed is None:
        parts = [render_text(conv).encode("utf-8", "surrogateescape")]
    else:  # the earlier blocks' bytes exactly as read (`latest.parse_latest`)
        earlier = conv.unparsed[0]
        head = render_header(conv.header) + conv.preamble
        # Only the last two characters decide a separator; any decoding of bytes keeps "\n".
        after = render_text(conv, earlier[-2:].decode("latin-1"))
        parts = [
            (head + _separator(head)).encode("utf-8", "surrogateescape"),
            earlier,
            after.encode("utf-8", "surrogateescape"),
        ]
    sha = digest(*parts)  # over the pieces: a long file's text is copied once, by the join
    parts.append(f"<!-- talkroom revision={conv.revision} sha256={sha} -->\n".encode())
    return b"".join(parts)


def check_writable(conv: Conversation, data: bytes) -> None:
    """Refuse a file every reader would reject (section 2's limits) before it is written."""
    header = len(render_header(conv.header).encode("utf-8", "surrogateescape"))
    if header > MAX_HEADER_BYTES:
        raise BadInput(
            f"the header would be {header} bytes; the limit is {MAX_HEADER_BYTES} "
            "(64 KiB): use fewer or shorter names"
        )
    if len(data) > MAX_FILE_BYTES:
        raise BadInput(
            f"the conversation would be {len(data)} bytes; the limit is "
            f"{MAX_FILE_BYTES} (16 MiB): close it and continue in a new one"
        )


Heading = tuple[str, str, str, str | None]  # kind, author, time, block id


def headings(text: str) -> list[tuple[int, Heading]]:
    """Every heading line in `text` (body lines that look like one are escaped): its
    offset and its fields."""
    # "\n" + text: a heading on the first line is found too, and each match's start is
    # then the offset of its line in `text`.
    return [
        (m.start(), (m.group(1), m.group(2).strip(), m.group(3).strip(), m.group(4)))
        for m in _HEADING_AFTER_NEWLINE.finditer("\n" + text)
    ]


def fill_details(block: Block, text: str) -> None:
    """Set a block's details from its text: everything after the heading line."""
    rest = text.partition("\n")[2].split("\n")  # \n only: CR and the other breaks are data
    block.turn = block.budget = block.action = block.next = None
    block.changes = []
    i = 0
    if block.kind != "Moderator" and (t := _TURN_RE.match(rest[0])):
        block.turn, block.budget = int(t.group(1)), int(t.group(2))
        i = 1
    elif block.kind == "Moderator" and (a := _ACTION_RE.match(rest[0])):
        block.action = a.group(1)
        i = 1
        while i < len(rest) and (c := _CHANGE_RE.match(rest[i])):
            block.changes.append((c.group(1), c.group(2), c.group(3)))
            i += 1
    if i < len(rest) and rest[i] == "":
        i += 1
    end = len(rest)
    while end > i and rest[end - 1] == "":
        end -= 1
    if end > i and (n := _NEXT_RE.match(rest[end - 1])):
        block.next = split_names(n.group(1))
        end -= 1
        while end > i and rest[end - 1] == "":
            end -= 1
    block.body = unescape_body("\n".join(rest[i:end]))


def _key_line(header_text: str, key: str) -> int:
    """The file line of `key:` in the header (for error messages), else the header's start."""
    for number, line in enumerate(header_text.split("\n"), start=2):
        if line.startswith(f"{key}:"):
            return number
    return 2


def parse(data: bytes, conv_id: str = "", *, tail: bool = False) -> Conversation:
    """Parse a conversation file; raises Unreadable with line and reason.

    With `tail` (a writer's read), a file whose trailer verifies, so that talkroom wrote it
    as it is, has only its latest blocks parsed: the earlier ones stay text, rendered back
    unchanged, and are parsed only if asked for (`Conversation.blocks`).
    """
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"the file is {len(data)} bytes; the limit is {MAX_FILE_BYTES} (16 MiB)")
    if tail:
        from talkroom.core.latest import parse_latest

        latest = parse_latest(data, conv_id)
        if latest is not None:
            return latest
    trailer = trailer_match(data)
    text_bytes, trailer_ok, trailer_rev, sha = data, False, -1, ""
    if trailer and (trailer.start() == 0 or data[trailer.start() - 1] == 0x0A):
        text_bytes = data[: trailer.start()]
        sha = digest(text_bytes)
        trailer_ok = sha == trailer.group(2).decode()
        trailer_rev = int(trailer.group(1))
    # surrogateescape: bytes that are not UTF-8 (older files in Latin-1) survive a rewrite
    # byte for byte; everything that shows text makes them visible (sanitise).
    text = text_bytes.decode("utf-8", "surrogateescape")
    if not text.startswith(("---\n", "---\r\n")):
        raise Unreadable("expected '---' to open the YAML header", 1)
    start = text.index("\n") + 1
    end = re.compile(r"^---[ \t\r]*$\n?", re.M).search(text, start)
    if end is None:
        raise Unreadable("the header has no closing '---' line", 1)
    header_text = text[start : end.start()].replace("\r\n", "\n")
    if len(header_text.encode("utf-8", "surrogateescape")) > MAX_HEADER_BYTES:
        raise Unreadable(f"the header is over {MAX_HEADER_BYTES // 1024} KiB", 1)
    header = parse_header(header_text, first_line=2)
    line_no = text.count("\n", 0, end.end()) + 1
    rest = text[end.end() :]
    first = _first_heading(rest)
    preamble = rest[:first]
    blocks = parse_blocks(rest[first:], line_no + rest.count("\n", 0, first))
    conv = Conversation(conv_id, header, blocks, preamble)
    conv.sha = sha
    conv.trailer_ok = trailer_ok and not conv.legacy and trailer_rev == conv.revision
    check(conv, header_text)
    return conv


def _first_heading(rest: str) -> int:
    """Where the first block starts (the end when there is none)."""
    # A preamble is a line or two: look near the start before copying a long file's text.
    for text in (rest[:4096], rest):
        heading = _HEADING_AFTER_NEWLINE.search("\n" + text)
        if heading is not None:
            return heading.start()
    return len(rest)


def parse_blocks(text: str, first_line: int) -> list[Block]:
    """The blocks in `text` (which begins on line `first_line` of its file)."""
    found = headings(text)
    blocks: list[Block] = []
    seen, seen_line = 0, first_line
    for i, (start, (kind, author, at, block_id)) in enumerate(found):
        seen_line += text.count("\n", seen, start)
        seen = start
        stop = found[i + 1][0] if i + 1 < len(found) else len(text)
        blocks.append(Block.from_file(kind, author, at, block_id, text[start:stop], seen_line))
    return blocks


def check(conv: Conversation, header_text: str) -> None:
    """Refuse what no reader can make sense of; report line and reason."""
    header = conv.header
    if "revision" in header and not header["revision"].strip().isdigit():
        raise Unreadable(
            f"revision {header['revision']!r} is not a number", _key_line(header_text, "revision")
        )
    status = header.get("status", "IN-PROGRESS").strip().upper()
    if status not in STATUSES:
        raise Unreadable(
            f"status {header['status']!r} is not one of {', '.join(STATUSES)}",
            _key_line(header_text, "status"),
        )
    budget = header.get("max turns")
    if budget is not None and not budget.strip().isdigit():
        raise Unreadable(
            f"max turns {budget!r} is not a number", _key_line(header_text, "max turns")
        )
    seen: set[str] = set()
    for block in conv.latest:  # a verified file left partly unparsed was checked when written
        if block.kind == "Moderator" and block.action is None and not conv.legacy:
            raise Unreadable(
                "expected 'Action: <action>' after a Moderator heading", block.line + 1
            )
        if block.block_id:
            if block.block_id in seen:
                raise Unreadable(f"block id {block.block_id} appears twice", block.line)
            seen.add(block.block_id)
