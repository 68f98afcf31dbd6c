"""The console's theme names, checked without starting the console."""

from __future__ import annotations


def check_theme(name: str) -> str | None:
    """Why `name` is not a theme the console has, or None when it is one."""
    from textual.theme import BUILTIN_THEMES  # here: importing textual takes over 100 ms

    if name in BUILTIN_THEMES:
        return None
    return f"theme {name!r} is not one of {', '.join(sorted(BUILTIN_THEMES))}"
