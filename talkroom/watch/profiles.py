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
    """How to submit to one kind of agent and how to recognise it busy, waiting or ready."""

    name: str
    submit_key: str = "Enter"
    submit_literal: bool = False  # send the key as a literal character (CR), not a key name
    submit_delay: float = 0.5
    busy_markers: tuple[str, ...] = ()  # any of these in the bottom lines: working
    waiting_markers: tuple[str, ...] = ()  # a dialog or an unsent paste: not ready either
    prompt: str = ""  # a regex for the composer line; group 1 is what it holds
    placeholders: tuple[str, ...] = ()  # regexes: composer text that means "empty"
    idle_patterns: tuple[str, ...] = ()  # if given, one must match a bottom line exactly
    allowed_commands: tuple[str, ...] = ()  # if given, the pane's foreground command
    stable_check: bool = False  # idle = the pane does not change between two looks
    check_interval: float = 0.3
    tail_lines: int = 15

    def bottom(self, text: str) -> list[str]:
        """The last `tail_lines` non-empty lines of a capture, with NBSP made a space."""
        lines = [ln.replace("\u00a0", " ") for ln in text.split("\n") if ln.strip()]
        return lines[-self.tail_lines :]

    def composer(self, text: str) -> str | None:
        """What the composer holds ("" when empty or showing its placeholder); None when
        the profile cannot tell or no composer is in sight (a dialog, a start-up screen)."""
        if not self.prompt:
            return None
        for line in reversed(self.bottom(text)):  # the composer is the last prompt line
            match = re.match(self.prompt, line)
            if match:
                held = match.group(1).strip()
                return "" if any(re.fullmatch(p, held) for p in self.placeholders) else held
        return None

    def state(self, text: str) -> str:
        """'busy', 'waiting', 'draft' (the composer holds text), 'no prompt', 'not idle'
        or '' (ready to take a line) for a pane capture."""
        lines = self.bottom(text)
        lowered = "\n".join(lines).lower()
        if any(marker.lower() in lowered for marker in self.busy_markers):
            return "busy"
        if any(marker.lower() in lowered for marker in self.waiting_markers):
            return "waiting"
        if self.prompt:
            held = self.composer(text)
            if held is None:
                return "no prompt"
            if held:
                return "draft"  # someone's text, never typed over
        if self.idle_patterns and not any(
            re.fullmatch(pattern, line) for pattern in self.idle_patterns for line in lines
        ):
            return "not idle"
        return ""


_CLAUDE_WAITING = (
    "do you want to proceed",
    "yes, allow once",
    "tell claude what to do differently",
    "esc to cancel",
    "press enter to select",
    "(y/n)",
    "[pasted text",
    "do you trust the files in this folder",
    "held message from another session",
)
# Measured on Claude Code 2.1.332, Codex 0.171.0 and Gemini CLI 0.61.0 in tmux 3.3a (pane
# captures in tests/fixtures/panes). What tmux reports as the foreground command: `claude`
# (its native binary), `node` for Codex and Gemini (node launchers). Every named Enter was
# taken after a gap; an Enter within ~0.1 s of the typed line becomes a newline in Codex's
# composer, so its gap is the longest.
BUILTIN_PROFILES: dict[str, Profile] = {
    "claude": Profile(
        name="claude",
        check_interval=0.15,
        submit_delay=0.25,
        busy_markers=("esc to interrupt", "ctrl+c to interrupt"),
        waiting_markers=_CLAUDE_WAITING,
        prompt=r"\s*[❯>] ?(.*)$",
        placeholders=(r'Try ".*"',),  # a dim suggestion in an empty prompt
        # Not pinned: tmux reports `claude` for the npm package, but a native install runs
        # a binary named after its version; its empty `❯` prompt is the guard.
    ),
    "codex": Profile(
        name="codex",
        check_interval=0.15,
        submit_delay=0.35,
        busy_markers=("esc to interrupt", "ctrl+c to interrupt"),
        waiting_markers=(
            "press enter to confirm",
            "would you like to run the following",
            "allow command?",
            "run command?",
            "enter to submit answer",
            "[pasted content",
        ),
        prompt=r"› ?(.*)$",
        placeholders=(r"Ask Codex to do anything",),
        allowed_commands=("node", "codex"),
    ),
    "gemini": Profile(
        name="gemini",
        check_interval=0.15,
        submit_delay=0.3,
        busy_markers=("esc to cancel",),
        waiting_markers=("allow execution", "apply this change", "waiting for user confirmation"),
        prompt=r"\s*> (.*)$",
        placeholders=(r"Type your message or @path/to/file",),
        allowed_commands=("node", "gemini"),
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
            raise ValueError(
                f"profile key {key!r} must be a number of seconds, got {value!r}"
            ) from None
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
        if key in ("idle_patterns", "placeholders"):
            try:
                re.compile(item)
            except re.error as exc:
                raise ValueError(f"profile key {key!r}: {item!r} is not a regex: {exc}") from None
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
    if key in ("stable_check", "submit_literal"):
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
        if not isinstance(value, bool):
            raise ValueError(f"profile key {key!r} must be true or false, got {value!r}")
        return value
    if key == "prompt":
        if not isinstance(value, str) or len(value) > _MAX_MARKER_LEN:
            raise ValueError(f"profile key 'prompt' must be a regex, got {value!r}")
        try:
            if re.compile(value).groups < 1:
                raise ValueError(
                    f"profile key 'prompt' needs a group for the composer's text, got {value!r}"
                )
        except re.error as exc:
            raise ValueError(f"profile key 'prompt': {value!r} is not a regex: {exc}") from None
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
