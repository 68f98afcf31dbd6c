"""Modal screens dismissed once: two Escapes (or Escape and a finished write) in one burst of
keys would otherwise dismiss a screen twice, and Textual then sets its result twice and pops
the screen below it too."""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class OnceModal(ModalScreen[ResultT]):
    """A modal screen that is dismissed at most once, and only while it is on top."""

    _dismissed = False

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        """Dismiss with `result`, unless already dismissed or covered by another screen."""
        if self._dismissed or not self.is_active:
            return AwaitComplete()
        self._dismissed = True
        return super().dismiss(result)
