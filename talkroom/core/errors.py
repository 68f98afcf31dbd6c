"""Errors that carry the helper's exit code and a one-line message."""

from __future__ import annotations

import errno


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


# What an errno means to someone using a talk root, and what they can do about it.
_REASONS = {
    errno.ENOSPC: "the disk is full; free space and try again",
    errno.EROFS: "the talk root is read-only; mount it read-write or choose another --root",
    errno.EACCES: "permission denied; check the talk root's permissions",
    errno.EPERM: "permission denied; check the talk root's permissions",
    errno.EDQUOT: "the disk quota is exceeded; free space and try again",
    errno.ENOENT: "the folder does not exist; check --root",
    errno.EIO: "an I/O error (is the network mount still there?); try again",
    errno.ENOTCONN: "the network mount is gone; remount it and try again",
    errno.ESTALE: "a stale network file handle; remount and try again",
}


def os_reason(exc: OSError) -> str:
    """Why an OSError happened and what to do about it, in a few words."""
    return _REASONS.get(exc.errno or 0, f"{exc.strerror or exc}; check the talk root")


def io_error(exc: OSError, path: object, verb: str = "write") -> StoreError:
    """A one-line StoreError for an OSError at `path`, with what to do about it."""
    return StoreError(f"cannot {verb} {path}: {os_reason(exc)}")
