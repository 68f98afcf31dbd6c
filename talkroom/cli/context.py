"""One invocation's context: typed global arguments, config, root, host, bodies, and the one
way a command loads a conversation (or says in one line why it cannot)."""

from __future__ import annotations

import os
import sys

from talkroom.core.errors import BadInput
from talkroom.core.names import MAX_BODY_BYTES
from talkroom.core.paths import Root

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms at start)
if TYPE_CHECKING:
    from typing import BinaryIO

    from talkroom.core.config import Config
    from talkroom.core.model import Conversation
    from talkroom.core.ops import Outcome
    from talkroom.core.store import Reader, Snapshot


# Plain classes, not argparse.Namespace subclasses: typeshed gives Namespace a __getattr__
# returning Any, which would let mypy accept any misspelt attribute.
class Globals:
    """What every parsed command line holds: the global options and the command's name."""

    root: str | None
    host: str | None
    command: str | None


class BodyArgs(Globals):
    """A command that takes a body (open, reply, inject)."""

    body: str | None
    body_file: str | None


STDIN_KEPT = 16 * 1024 * 1024  # read this much of a refused stdin body, to save it
FILE_READ = 4 * MAX_BODY_BYTES  # a --body-file stays where it is; only this much is read


class Context:
    """One invocation: parsed arguments and lazily found root, host and config."""

    def __init__(self, args: Globals) -> None:
        self.args = args
        self._config: Config | None = None
        self.lenient_config = False  # doctor reports a bad config instead of stopping at it
        self.body_raw: bytes | None = None  # a body read for open/reply/inject, kept on failure
        self.body_file: str | None = None  # or the file it was read from, which keeps it
        self.body_cut = False  # the body was longer than what was read of it

    @property
    def config(self) -> Config:
        """The effective configuration (read on first use: most helper runs never need it)."""
        if self._config is None:
            from talkroom.core import config, stale

            cfg = config.load(lenient=self.lenient_config)
            for warning in [] if self.lenient_config else cfg.warnings:
                print(f"talkroom: warning: {warning}", file=sys.stderr)
            stale.set_stale_after(cfg.settings.stale_lock_seconds)
            self._config = cfg
        return self._config

    @property
    def root(self) -> Root:
        """The talk root (docs/protocol.md section 1)."""
        from talkroom.core.paths import find_root

        flag = self.args.root
        if flag is not None and not flag.strip():
            raise BadInput("--root is empty; give the talk root's folder, e.g. --root ~/talks")
        if flag or os.environ.get("TALKROOM_ROOT"):
            return find_root(flag)
        configured = self.config.settings.root
        return find_root(None, configured)

    @property
    def host(self) -> str:
        """This host's name."""
        from talkroom.core.paths import host_name

        return host_name(self.args.host)

    @property
    def moderator(self) -> str:
        """The name on moderator blocks."""
        from talkroom.core.names import moderator_name

        configured = self.config.settings.moderator
        return moderator_name(configured)

    def snapshot(
        self, conv_id: str, reader: Reader | None = None, *, unreadable_ok: bool = False
    ) -> Snapshot:
        """Conversation `conv_id`, settled; a one-line error when it is missing, or when it
        cannot be read (unless `unreadable_ok`: `show --json` reports that itself)."""
        from talkroom.core.lookup import snapshot

        return snapshot(self.root, conv_id, reader, unreadable_ok=unreadable_ok)

    def conversation(self, conv_id: str) -> Conversation:
        """Conversation `conv_id`, readable, or a one-line error saying what to do."""
        conv = self.snapshot(conv_id).conv
        assert conv is not None  # snapshot() raised otherwise
        return conv

    def read_body(self, args: BodyArgs, required: bool) -> str:
        """The body from --body, --body-file or standard input (when it is not a terminal)."""
        text, path = args.body, args.body_file
        if text is not None and path is not None:
            raise BadInput("give the body once: --body TEXT or --body-file PATH, not both")
        if text is not None:
            raw = text.encode("utf-8", "surrogateescape")
        elif path is not None:
            raw = _read_body_file(path)
            self.body_cut = len(raw) > (STDIN_KEPT if path == "-" else FILE_READ)
        elif not sys.stdin.isatty():
            raw = read_capped(sys.stdin.buffer, STDIN_KEPT)  # all of it is kept if refused
            self.body_cut = len(raw) > STDIN_KEPT
        else:
            raw = b""
        # A named --body-file stays where it is: that is where the body is kept.
        self.body_raw = None if path not in (None, "-") else raw
        self.body_file = path if path not in (None, "-") else None
        if required and not raw.strip():
            raise BadInput(
                "no body: give --body TEXT, --body-file PATH, or pipe it on standard input"
            )
        if self.body_cut:
            raise BadInput(
                f"the body is over {len(raw) - 1} bytes; the limit is {MAX_BODY_BYTES}"
                " (256 KiB): split it, or put the detail in a file and link it"
            )
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"the body is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start}); convert it, e.g. with iconv -t UTF-8"
            ) from None


def read_capped(stream: BinaryIO, limit: int) -> bytes:
    """At most `limit` + 1 bytes: enough to know it is too long (/dev/zero never ends)."""
    return stream.read(limit + 1)


def _read_body_file(path: str) -> bytes:
    if path == "-":
        return read_capped(sys.stdin.buffer, STDIN_KEPT)
    try:
        import stat

        if stat.S_ISCHR(os.stat(path).st_mode) or stat.S_ISBLK(os.stat(path).st_mode):
            raise BadInput(f"--body-file {path} is a device; give a file")
        with open(path, "rb") as fh:
            return read_capped(fh, FILE_READ)  # the file itself stays: nothing is lost
    except FileNotFoundError:
        raise BadInput(f"--body-file {path}: no such file; check the path") from None
    except IsADirectoryError:
        raise BadInput(f"--body-file {path} is a folder; give a file") from None
    except OSError as exc:
        raise BadInput(f"--body-file {path}: {exc.strerror}; check the path") from None


def say(outcome: Outcome) -> None:
    """Print a write's notes, and its warnings on standard error."""
    for note in outcome.notes:
        print(f"note: {note}")
    for warning in outcome.warnings():
        print(f"talkroom: warning: {warning}", file=sys.stderr)
