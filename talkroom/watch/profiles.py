"""Agent profiles: how to tell whether an agent's pane is ready to be typed into."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BUILTIN_PROFILES", "SHELLS", "Profile", "make_profile"]

# Foreground commands that mean "the agent is not running, a shell is": typing there would
# run the line as a command. Names are compared after tmux-style normalisation (basename,
# leading "-" of login shells removed).
SHELLS: frozenset[str] = frozenset(
    {
        "ash",
        "bash",
        "busybox",
        "csh",
        "dash",
        "elvish",
        "es",
        "fish",
        "ion",
        "ksh",
        "ksh93",
        "mksh",
        "nu",
        "nushell",
        "oksh",
        "osh",
        "pdksh",
        "posh",
        "powershell",
        "pwsh",
        "rc",
        "sh",
        "tcsh",
        "xonsh",
        "yash",
        "ysh",
        "zsh",
    }
)


@dataclass(frozen=True)
class Profile:
    """How to submit to one kind of agent and how to recognise it busy or idle."""

    name: str
    submit_key: str = "Enter"
    submit_delay: float = 0.5
    busy_markers: tuple[str, ...] = ()
    idle_markers: tuple[str, ...] = ()
    allowed_commands: tuple[str, ...] = ()
    stable_check: bool = False
    check_interval: float = 0.3


# Claude Code's idle hint ("? for shortcuts") is hidden whenever the input box has text or
# a notice, so idleness is "no busy marker" rather than "idle marker present".
BUILTIN_PROFILES: dict[str, Profile] = {
    "claude": Profile(name="claude", busy_markers=("esc to interrupt",)),
    "codex": Profile(name="codex", busy_markers=("esc to interrupt", "Esc to interrupt")),
    "gemini": Profile(name="gemini", busy_markers=("esc to cancel",)),
    "generic": Profile(name="generic", stable_check=True),
}

# tmux key names such as Enter, C-m, C-j, KPEnter, M-Enter; nothing that could be an option.
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,19}$")
_MAX_SECONDS = 10.0
_MAX_MARKERS = 20
_MAX_MARKER_LEN = 200


def _seconds(key: str, value: object, *, positive: bool) -> float:
    # bool is an int subclass; "true" as a delay is a config mistake, not 1 second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"profile key {key!r} must be a number of seconds, got {value!r}")
    seconds = float(value)
    low_ok = seconds > 0 if positive else seconds >= 0
    if not math.isfinite(seconds) or not low_ok or seconds > _MAX_SECONDS:
        bound = "> 0" if positive else ">= 0"
        raise ValueError(
            f"profile key {key!r} must be {bound} and <= {_MAX_SECONDS:g} s, got {value!r}"
        )
    return seconds


def _strings(key: str, value: object) -> tuple[str, ...]:
    # A lone string is accepted as a one-item list: tuple("abc") would silently split it.
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"profile key {key!r} must be a list of strings, got {value!r}")
    if len(items) > _MAX_MARKERS:
        raise ValueError(f"profile key {key!r} has more than {_MAX_MARKERS} entries")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item or len(item) > _MAX_MARKER_LEN or "\n" in item:
            raise ValueError(
                f"profile key {key!r} entries must be non-empty one-line strings, got {item!r}"
            )
        out.append(item)
    return tuple(out)


def _check_value(key: str, value: object) -> object:
    if key == "submit_key":
        if not isinstance(value, str) or not _KEY_RE.match(value):
            raise ValueError(
                f"profile key 'submit_key' must be a tmux key name like 'Enter', got {value!r}"
            )
        return value
    if key == "submit_delay":
        return _seconds(key, value, positive=False)
    if key == "check_interval":
        return _seconds(key, value, positive=True)
    if key == "stable_check":
        if not isinstance(value, bool):
            raise ValueError(f"profile key 'stable_check' must be true or false, got {value!r}")
        return value
    return _strings(key, value)


_OVERRIDABLE = tuple(f.name for f in dataclasses.fields(Profile) if f.name != "name")


def make_profile(name: str, overrides: Mapping[str, object] | None = None) -> Profile:
    """Return the built-in profile `name` with validated `overrides` applied."""
    base = BUILTIN_PROFILES.get(name)
    if base is None:
        known = ", ".join(sorted(BUILTIN_PROFILES))
        raise ValueError(f"unknown agent profile {name!r} (known: {known})")
    if not overrides:
        return base
    changes: dict[str, object] = {}
    for key, value in overrides.items():
        if key not in _OVERRIDABLE:
            raise ValueError(
                f"unknown profile key {key!r} (allowed: {', '.join(_OVERRIDABLE)})"
            )
        changes[key] = _check_value(key, value)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
