"""Agent profiles: how to submit to an agent, and how to tell from its pane that it is ready.

The markers follow what other tmux orchestrators (agent-deck, Gas Town, agent-of-empires,
ccmanager, claodex) learned: match case-insensitively, only in the bottom lines of the
pane (old scrollback can quote "esc to interrupt"), treat permission dialogs and unsent
paste placeholders as "waiting", and read "esc to cancel" as busy only for Gemini (for
Claude and Codex it is the footer of a permission dialog).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BUILTIN_PROFILES", "SHELLS", "Profile", "make_profile", "profiles_from_config"]

# Foreground commands that mean "no agent runs here, a shell does": typing there would run
# the line as a command. Compared after tmux-style normalisation (basename, no login "-").
SHELLS: frozenset[str] = frozenset({
    "ash", "bash", "busybox", "csh", "dash", "elvish", "es", "fish", "ion", "ksh", "ksh93",
    "mksh", "nu", "nushell", "oksh", "osh", "pdksh", "posh", "powershell", "pwsh", "rc", "sh",
    "tcsh", "xonsh", "yash", "ysh", "zsh",
})


@dataclass(frozen=True)
class Profile:
    """How to submit to one kind of agent and how to recognise it busy, waiting or idle."""

    name: str
    submit_key: str = "Enter"
    submit_delay: float = 0.5
    busy_markers: tuple[str, ...] = ()  # any of these in the bottom lines: working
    waiting_markers: tuple[str, ...] = ()  # a dialog or an unsent draft: not ready either
    idle_patterns: tuple[str, ...] = ()  # if given, one must match a bottom line exactly
    allowed_commands: tuple[str, ...] = ()  # if given, the pane's foreground command
    stable_check: bool = False  # idle = the pane does not change between two looks
    check_interval: float = 0.3
    tail_lines: int = 15

    def bottom(self, text: str) -> list[str]:
        """The last `tail_lines` non-empty lines of a capture, with NBSP made a space."""
        lines = [ln.replace("\u00a0", " ") for ln in text.split("\n") if ln.strip()]
        return lines[-self.tail_lines:]

    def state(self, text: str) -> str:
        """'busy', 'waiting', 'not idle' or '' (ready) for a pane capture."""
        lines = self.bottom(text)
        lowered = "\n".join(lines).lower()
        if any(marker.lower() in lowered for marker in self.busy_markers):
            return "busy"
        if any(marker.lower() in lowered for marker in self.waiting_markers):
            return "waiting"
        if self.idle_patterns and not any(
            re.fullmatch(pattern, line) for pattern in self.idle_patterns for line in lines
        ):
            return "not idle"
        return ""


_CLAUDE_WAITING = (
    "do you want to proceed", "yes, allow once", "tell claude what to do differently",
    "esc to cancel", "press enter to select", "(y/n)", "[pasted text",
    "do you trust the files in this folder",
)
BUILTIN_PROFILES: dict[str, Profile] = {
    # An empty prompt box is a line holding only the prompt; text after it is someone's
    # half-typed input (or a dim suggestion starting with "Try"), never to be typed over.
    "claude": Profile(
        name="claude",
        busy_markers=("esc to interrupt", "ctrl+c to interrupt"),
        waiting_markers=_CLAUDE_WAITING,
        idle_patterns=(r"\s*[❯>]\s*", r"\s*[❯>] Try .*"),
    ),
    "codex": Profile(
        name="codex",
        busy_markers=("esc to interrupt", "ctrl+c to interrupt"),
        waiting_markers=("allow command?", "run command?", "press enter to confirm",
                         "enter to submit answer", "[pasted content"),
    ),
    "gemini": Profile(
        name="gemini",
        busy_markers=("esc to cancel",),
        waiting_markers=("allow execution", "apply this change", "waiting for user confirmation"),
        submit_delay=1.0,
    ),
    "generic": Profile(name="generic", stable_check=True),
}

# tmux key names such as Enter, C-m, C-j, KPEnter, M-Enter; nothing that could be an option.
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,19}$")
_MAX_SECONDS = 10.0
_MAX_MARKERS = 20
_MAX_MARKER_LEN = 200


def _seconds(key: str, value: object, *, positive: bool) -> float:
    # bool is an int subclass; "true" as a delay is a config mistake, not 1 second.
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"profile key {key!r} must be a number of seconds, got {value!r}") \
                from None
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
        if key == "idle_patterns":
            try:
                re.compile(item)
            except re.error as exc:
                raise ValueError(f"profile key 'idle_patterns': {item!r} is not a regex: {exc}") \
                    from None
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
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        if not isinstance(value, bool):
            raise ValueError(f"profile key 'stable_check' must be true or false, got {value!r}")
        return value
    if key == "tail_lines":
        try:
            lines = int(str(value))
        except ValueError:
            lines = 0
        if not 1 <= lines <= 200:
            raise ValueError(f"profile key 'tail_lines' must be 1..200, got {value!r}")
        return lines
    return _strings(key, value)


_OVERRIDABLE = tuple(f.name for f in dataclasses.fields(Profile) if f.name != "name")


def make_profile(name: str, overrides: Mapping[str, object] | None = None) -> Profile:
    """The built-in profile `name` with validated `overrides` applied."""
    base = BUILTIN_PROFILES.get(name)
    if base is None:
        known = ", ".join(sorted(BUILTIN_PROFILES))
        raise ValueError(f"unknown agent profile {name!r} (known: {known})")
    if not overrides:
        return base
    changes: dict[str, object] = {}
    for key, value in overrides.items():
        if key not in _OVERRIDABLE:
            raise ValueError(f"unknown profile key {key!r} (allowed: {', '.join(_OVERRIDABLE)})")
        changes[key] = _check_value(key, value)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def profiles_from_config(overrides: Mapping[str, Mapping[str, object]]) -> dict[str, Profile]:
    """Every built-in profile with the config's overrides; raises ValueError naming the key."""
    unknown = set(overrides) - set(BUILTIN_PROFILES)
    if unknown:
        raise ValueError(
            f"unknown profile {sorted(unknown)[0]!r} in the config "
            f"(known: {', '.join(sorted(BUILTIN_PROFILES))})"
        )
    return {name: make_profile(name, overrides.get(name)) for name in BUILTIN_PROFILES}
