"""The archive (docs/protocol.md section 4.5): closed conversations moved out of the live
folder, still searchable, replayable and exportable, and restored on demand.

A conversation is archived under its write lock: its bytes are copied to `archive/` first,
then the live file is taken out of `conversations/` by the lock's fence, so a writer paused
past the stale time never archives a file someone else has since written, and there is no
moment when the conversation is in neither folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from talkroom.core import clock
from talkroom.core.codec import parse
from talkroom.core.errors import BadInput, NotFound, Refused, io_error
from talkroom.core.files import Folder, read_capped
from talkroom.core.journal import journal_path
from talkroom.core.lock import FileLock
from talkroom.core.model import CLOSED, Conversation
from talkroom.core.names import MAX_FILE_BYTES
from talkroom.core.paths import Root
from talkroom.core.store import Reader, conversation_files, not_found, read_bytes

DEFAULT_DAYS = 30.0


def archived_path(root: Root, conv_id: str) -> Path:
    """Where conversation `conv_id` is kept once archived."""
    return root.archive / root.conversation(conv_id).name


def archive(root: Root, conv_id: str, host: str) -> Conversation:
    """Move a closed conversation to the archive; Refused unless it is closed."""
    path = root.conversation(conv_id)
    with FileLock(path, host) as lock:
        try:
            data = read_bytes(path)
        except FileNotFoundError:
            raise not_found(path) from None
        conv = parse(data, conv_id)
        if conv.status != CLOSED:
            raise Refused(
                f"{conv_id} is {conv.status}; only a closed conversation is "
                "archived (close it first)"
            )
        name = path.name
        try:
            with Folder(root.path, "archive", create=True) as folder:
                incoming = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.incoming"
                folder.write_new(incoming, data)
                folder.rename(incoming, name)  # an interrupted archive's copy is replaced
                try:
                    lock.remove(name)  # the fence: only while the lock is still ours
                except BaseException:
                    folder.unlink(name)  # the live file stays, with whatever it holds now
                    raise
                _move_journal(path, folder)
        except OSError as exc:
            raise io_error(exc, root.archive, "archive into") from None
    conv.path = archived_path(root, conv_id)
    return conv


def restore(root: Root, conv_id: str, host: str) -> Conversation:
    """Bring an archived conversation back to the live folder, as it was."""
    path = root.conversation(conv_id)
    kept = archived_path(root, conv_id)
    with FileLock(path, host) as lock:
        if os.path.lexists(path):
            raise BadInput(f"{conv_id} is already in {path.parent}; nothing to restore")
        try:
            data = read_capped(kept, MAX_FILE_BYTES, what="the archived conversation")
        except FileNotFoundError:
            raise NotFound(
                f"no archived conversation {conv_id!r} in {root.archive}; "
                "check the id with 'talkroom archive --list'"
            ) from None
        conv = parse(data, conv_id)
        lock.commit(data, conv)
        try:
            with Folder(root.path, "archive") as folder:
                folder.unlink(kept.name)
                journal = journal_path(kept).name
                if folder.exists(journal):
                    with Folder(root.path, "conversations") as live:
                        folder.move(journal, live, journal)
        except OSError as exc:
            raise io_error(exc, kept, "remove the archived copy") from None
    conv.path = path
    return conv


def _move_journal(path: Path, archive: Folder) -> None:
    """The journal goes with its conversation: it may hold text a hand edit lost."""
    name = journal_path(path).name
    with Folder(path.parent.parent, path.parent.name) as live:
        if live.exists(name):
            live.move(name, archive, name)


def due(root: Root, days: float, now: float | None = None) -> list[str]:
    """Closed conversations whose last update is older than `days`, oldest first."""
    if days < 0:
        raise BadInput(f"--older-than {days:g} is negative; give a number of days")
    limit = (clock.now() if now is None else now) - days * 86400
    found = []
    for snap in Reader().settle_all(conversation_files(root.conversations)):
        conv = snap.conv
        if not snap.readable or conv is None or conv.status != CLOSED:
            continue
        updated = clock.parse_loose(conv.updated_at) or conv.mtime
        if updated < limit:
            found.append((updated, conv.id))
    return [conv_id for _, conv_id in sorted(found)]


def archived(root: Root) -> list[Path]:
    """The archived conversations' files."""
    if not root.archive.is_dir():
        return []
    return conversation_files(root.archive)
