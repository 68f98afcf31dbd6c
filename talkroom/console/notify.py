"""Telling the moderator something needs them: bell and toast, and the desktop's own
notifications where `notify-send` exists; throttled per conversation and per burst."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from textual.app import App

from talkroom.core.sanitise import sanitise_line


def _markup_safe(text: str) -> str:
    # notify-send bodies may be read as markup by the notification daemon.
    return sanitise_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


BURST_SECONDS = 2.0  # notifications this close together are one burst
BURST_TOASTS = 3  # toasts shown per burst; the rest are summed up in one more


class Notifier:
    """Rings, toasts and (if configured and available) notifies the desktop, throttled.

    At most once per conversation per `throttle` seconds; a burst (a host going quiet
    under ten conversations) rings once, sends one desktop notification, shows a few
    toasts and one that counts the rest.
    """

    def __init__(
        self,
        app: App[Any],
        *,
        bell: bool,
        desktop: bool,
        throttle: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.bell = bell
        self.desktop = shutil.which("notify-send") if desktop else None
        self.throttle = throttle
        self.clock = clock
        self._last: dict[str, float] = {}
        self._burst_at = -BURST_SECONDS
        self._burst = 0
        self._held = 0

    def __call__(self, conv_id: str, title: str, text: str, severity: str = "warning") -> bool:
        """Say it, unless this conversation was the subject within the throttle time."""
        now = self.clock()
        last = self._last.get(conv_id)
        if last is not None and now - last < self.throttle:
            return False
        self._last[conv_id] = now
        if now - self._burst_at >= BURST_SECONDS:
            self._burst_at, self._burst = now, 0
        self._burst += 1
        if self._burst == 1:
            if self.bell:
                self.app.bell()
            self._desktop(title, text)
        if self._burst <= BURST_TOASTS:
            self.app.notify(sanitise_line(text), title=sanitise_line(title), severity=severity)  # type: ignore[arg-type]
        else:
            self._held += 1
            if self._held == 1:
                self.app.set_timer(BURST_SECONDS, self._flush)
        return True

    def _flush(self) -> None:
        held, self._held = self._held, 0
        if held:
            self.app.notify(
                f"and {held} more: P lists every problem", title="more need you", severity="warning"
            )

    def _desktop(self, title: str, text: str) -> None:
        if not self.desktop:
            return
        command = [self.desktop, "--app-name=talkroom", _markup_safe(title), _markup_safe(text)]
        self.app.run_worker(
            lambda: subprocess.run(command, capture_output=True, timeout=5, check=False),
            thread=True,
            group="notify",
            exit_on_error=False,
        )
