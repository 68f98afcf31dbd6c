"""Make untrusted text inert before it reaches a screen (docs/protocol.md section 7)."""

from __future__ import annotations

import re

# C0 except \t and \n, DEL, C1, bidi embedding/override/isolate controls, and the lone
# surrogates that stand for bytes that were not UTF-8 (they cannot even be printed).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ESC shows as ␛
    if code == 0x7F:
        return "\u2421"
    if 0xDC80 <= code <= 0xDCFF:
        return f"<0x{code - 0xDC00:02X}>"  # a byte that was not UTF-8
    return f"<U+{code:04X}>"


def sanitise(text: str) -> str:
    """Replace every control that could steer a terminal with a visible stand-in."""
    return _UNSAFE.sub(_visible, text)


def sanitise_line(text: str) -> str:
    """Like sanitise, for one-line places (topics, names): newlines and tabs shown too."""
    return _UNSAFE_LINE.sub(_visible, text)


def is_clean(text: str) -> bool:
    """True when sanitise would change nothing."""
    return _UNSAFE.search(text) is None
