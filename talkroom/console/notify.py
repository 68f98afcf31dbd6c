"""Telling the moderator something needs them: bell and toast, and the desktop's own
notifications where `notify-send` exists; at most once per subject per throttle time."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Hashable

from textual.app import App

from talkroom.core.sanitise import sanitise_line


def _markup_safe(text: str) -> str:
    # notify-send bodies may be read as markup by the notification daemon.
    return sanitise_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Notifier:
    """Rings, toasts and (if configured and available) notifies the desktop, throttled."""

    def __init__(self, app: App[object], *, bell: bool, desktop: bool, throttle: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.bell = bell
        self.desktop = shutil.which("notify-send") if desktop else None
        self.throttle = throttle
        self.clock = clock
        self._last: dict[Hashable, float] = {}

    def __call__(self, subject: Hashable, title: str, text: str,
                 severity: str = "warning") -> bool:
        """Say it, unless the same subject was said within the throttle time."""
        now = self.clock()
        last = self._last.get(subject)
        if last is not None and now - last < self.throttle:
            return False
        self._last[subject] = now
        if self.bell:
            self.app.bell()
        self.app.notify(sanitise_line(text), title=sanitise_line(title),
                        severity=severity)  # type: ignore[arg-type]
        if self.desktop:
            command = [self.desktop, "--app-name=talkroom", _markup_safe(title),
                       _markup_safe(text)]
            self.app.run_worker(lambda: subprocess.run(command, capture_output=True,
                                                       timeout=5, check=False),
                                thread=True, group="notify", exit_on_error=False)
        return True
