"""Errors that carry the helper's exit code and a one-line message."""

from __future__ import annotations


class TalkError(Exception):
    """A failure with a one-line message and the exit code the CLI returns."""

    exit_code = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = " ".join(message.split("\n"))


class Refused(TalkError):
    """The protocol refuses the operation: not your turn, paused, closed, over budget."""

    exit_code = 1


class BadInput(TalkError):
    """Bad usage or bad input: a name, a body, an option."""

    exit_code = 2


class StoreError(TalkError):
    """I/O failure, lock timeout or an unreadable file."""

    exit_code = 3


class NotFound(StoreError):
    """No conversation with that id."""


class Unreadable(StoreError):
    """A conversation file that cannot be parsed; never rewritten."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.reason = reason
        self.line = line
