"""A tool call's arguments, checked into the helper's kind of one-line errors, and its
results made inert."""

from __future__ import annotations

from typing import Any

from talkroom.core.errors import BadInput
from talkroom.core.sanitise import sanitise, sanitise_line

Args = dict[str, Any]


def inert(value: Any, key: str = "") -> Any:
    """`value` with every string made inert: bodies keep their lines, the rest is one line."""
    if isinstance(value, str):
        return sanitise(value) if key == "body" else sanitise_line(value)
    if isinstance(value, dict):
        return {k: inert(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [inert(v, key) for v in value]
    return value


def text_arg(args: Args, key: str) -> str | None:
    """Argument `key`: a string (valid text), or None when not given."""
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"the argument {key!r} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadInput(
            f"the argument {key!r} is not valid text (a lone surrogate at offset "
            f"{exc.start}); send UTF-8 text"
        ) from None
    return value


def number_arg(args: Args, key: str, low: float, high: float) -> float | None:
    """Argument `key`: a number from `low` to `high`, or None when not given."""
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"the argument {key!r} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise BadInput(f"{key} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def whole_arg(args: Args, key: str) -> int | None:
    """Argument `key`: a whole number, or None when not given."""
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"the argument {key!r} must be a whole number, got {value!r}")
    return value
