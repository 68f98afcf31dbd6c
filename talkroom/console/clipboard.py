"""Copying to a clipboard that can be checked: tmux's paste buffer, Wayland, X or macOS. The
terminal's own clipboard (OSC 52, which the console also sends) never says whether it took
the text, so "copied" is said only when one of these did."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# (what to call it, the command, when it applies)
_TOOLS: tuple[tuple[str, list[str], str], ...] = (
    ("tmux's paste buffer (prefix ])", ["tmux", "load-buffer", "-"], "TMUX"),
    ("the Wayland clipboard", ["wl-copy"], "WAYLAND_DISPLAY"),
    ("the X clipboard", ["xclip", "-selection", "clipboard"], "DISPLAY"),
    ("the X clipboard", ["xsel", "--clipboard", "--input"], "DISPLAY"),
    ("the macOS clipboard", ["pbcopy"], "darwin"),
)
TIMEOUT = 3.0  # seconds: an X server that does not answer must not hold a worker


def copy(text: str) -> list[str]:
    """Put `text` on every clipboard reachable from here; returns where it went."""
    went: list[str] = []
    for where, command, needs in _TOOLS:
        if where in went:
            continue
        present = sys.platform == needs if needs == "darwin" else bool(os.environ.get(needs))
        if not present or shutil.which(command[0]) is None:
            continue
        try:
            done = subprocess.run(
                command,
                input=text.encode(),
                stdout=subprocess.DEVNULL,  # xclip's server keeps a pipe open: never wait on it
                stderr=subprocess.DEVNULL,
                timeout=TIMEOUT,
                check=False,
                start_new_session=True,  # xclip stays to serve the selection: not our child
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            went.append(where)
    return went


def said(text: str, went: list[str]) -> str:
    """The toast after a copy: where it went, or that no clipboard took it (and the text,
    to select by hand)."""
    if went:
        return f"copied {text} to {' and '.join(went)}"
    return (
        f"no clipboard reachable (no tmux, X, Wayland or macOS clipboard here): {text} "
        "was offered to the terminal (OSC 52), which may ignore it; select it by hand"
    )
