"""Delivery receipts: `hosts/<host>/deliveries.jsonl`, one JSON line per attempt.

Only that host's watcher appends to its file; everyone else (the console, replay, export,
doctor) reads them. docs/protocol.md section 6.4 has the line's fields.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from talkroom.core.errors import Unreadable
from talkroom.core.files import Folder, read_head, read_new_lines
from talkroom.core.names import NAME_RE
from talkroom.core.paths import Root

RECEIPTS_FILE = "deliveries.jsonl"
TAIL_CAP = 8 * 1024 * 1024  # read at most this much of a host's receipts at one look
ROTATE_AT = 1024 * 1024  # the current file is set aside as a dated segment past this
_COMPACT_RE = re.compile(r"^\d{8}T\d{6}Z$")
_SEGMENT_RE = re.compile(r"^deliveries-(\d{8}T\d{6}Z)-(\d{8}T\d{6}Z)(?:-\d+)?\.jsonl$")
RECEIPT_KEYS = (
    "at",
    "conversation",
    "assignment",
    "revision",
    "target",
    "pane",
    "outcome",
    "latency_ms",
)
TYPING, DELIVERED, UNKNOWN, NOT_SUBMITTED = "typing", "delivered", "unknown", "not-submitted"
RUNNING = "running"  # a one-shot command session's run was started (the cursor's intent)
INTENTS = (TYPING, RUNNING)
PATHS = ("typed", "inbox", "queue", "command")


class Receipt:
    """One line of deliveries.jsonl, with the host whose file it came from."""

    __slots__ = (
        "assignment",
        "at",
        "conversation",
        "exit_code",
        "host",
        "latency_ms",
        "outcome",
        "pane",
        "path",
        "revision",
        "run_ms",
        "target",
        "typed",
    )

    def __init__(
        self,
        host: str,
        at: str,
        conversation: str,
        assignment: str,
        revision: int,
        target: str,
        pane: str,
        outcome: str,
        latency_ms: int | None,
        typed: bool | None = None,
        path: str | None = None,
        exit_code: int | None = None,
        run_ms: int | None = None,
    ) -> None:
        self.host = host
        self.at = at
        self.conversation = conversation
        self.assignment = assignment
        self.revision = revision
        self.target = target
        self.pane = pane
        self.outcome = outcome
        self.latency_ms = latency_ms
        self.typed = typed  # whether the line may have reached the pane (None: not said)
        self.path = path  # how: typed, inbox (Claude Code's socket), queue (codex queue),
        # command (a one-shot command session's run)
        self.exit_code = exit_code  # a command's exit status (negative: killed by a signal)
        self.run_ms = run_ms  # how long a command ran, start to exit

    def __repr__(self) -> str:
        return f"Receipt({self.conversation}/{self.assignment} -> {self.target}: {self.outcome})"

    def to_json(self) -> dict[str, object]:
        """The line's object (without the host: the file says which host)."""
        out = {k: getattr(self, k) for k in RECEIPT_KEYS}
        if self.typed is not None:
            out["typed"] = self.typed
        if self.path is not None:
            out["path"] = self.path
        if self.exit_code is not None:
            out["exit_code"] = self.exit_code
        if self.run_ms is not None:
            out["run_ms"] = self.run_ms
        return out

    @classmethod
    def from_json(cls, host: str, data: dict[str, object]) -> Receipt | None:
        """A receipt from a parsed line, or None when the line is not one."""
        try:
            latency = data.get("latency_ms")
            typed, path = data.get("typed"), data.get("path")
            code, run = data.get("exit_code"), data.get("run_ms")
            return cls(
                host,
                str(data["at"]),
                str(data["conversation"]),
                str(data["assignment"]),
                int(str(data.get("revision", 0))),
                str(data["target"]),
                str(data.get("pane", "")),
                str(data["outcome"]),
                int(str(latency)) if latency is not None else None,
                typed if isinstance(typed, bool) else None,
                path if path in PATHS else None,
                code if isinstance(code, int) and not isinstance(code, bool) else None,
                run if isinstance(run, int) and not isinstance(run, bool) else None,
            )
        except (KeyError, ValueError):
            return None

    def describe(self) -> str:
        """`delivered to codex on linux-box in 0.7 s`, `deferred: busy (codex on h)`, ..."""
        from talkroom.core.sanitise import sanitise_line

        who = f"{sanitise_line(self.target)} on {sanitise_line(self.host)}"
        how = {
            "inbox": " through its inbox",
            "queue": " with codex queue",
            "command": " by running its command",
        }.get(self.path or "", "")
        if self.kind == "delivered":
            took = f" in {self.latency_ms / 1000:.1f} s" if self.latency_ms is not None else ""
            if self.path == "command" and self.run_ms is not None:
                took = f" (ran {self.run_ms / 1000:.1f} s, exit {self.exit_code})"
            return f"delivered to {who}{how}{took}"
        return f"{self.kind}: {sanitise_line(self.reason) or '?'} ({who})"

    @property
    def was_typed(self) -> bool:
        """Whether the wake-up line may have been typed (older receipts: by the outcome)."""
        if self.typed is not None:
            return self.typed
        return self.kind in ("delivered", "unknown") or self.outcome == "failed:not submitted"

    @property
    def kind(self) -> str:
        """delivered, deferred, failed or unknown."""
        return self.outcome.split(":", 1)[0]

    @property
    def reason(self) -> str:
        """What follows `deferred:` or `failed:`."""
        return self.outcome.split(":", 1)[1] if ":" in self.outcome else ""


def receipts_path(root: Root, host: str) -> Path:
    """`hosts/<host>/deliveries.jsonl`."""
    return root.host_dir(host) / RECEIPTS_FILE


def append_receipt(root: Root, host: str, receipt: Receipt) -> None:
    """Append one line; only this host's watcher writes this file, so O_APPEND is safe.
    A link planted at this name (or at a folder above it) is refused, never written
    through. A file past ROTATE_AT is first set aside as a dated segment."""
    line = (json.dumps(receipt.to_json(), ensure_ascii=True) + "\n").encode()
    with Folder(root.path, "hosts", host, create=True) as folder:
        try:
            size = folder.lstat(RECEIPTS_FILE).st_size
        except FileNotFoundError:
            size = 0
        if size >= ROTATE_AT:
            _rotate(folder, receipt.at)
        folder.append(RECEIPTS_FILE, line)


def _rotate(folder: Folder, now: str) -> None:
    """Rename the current file to `deliveries-<first at>-<last at>.jsonl`, so a reader
    of one conversation's history opens only the segments of its time."""
    try:
        head = read_head(folder.path / RECEIPTS_FILE, 4096).split(b"\n", 1)[0]
        first = str(json.loads(head).get("at", ""))
    except (OSError, Unreadable, ValueError, AttributeError):
        first = ""
    last = _compact(now)
    name = f"deliveries-{_compact(first) or last}-{last}"
    taken = 0
    while folder.exists(f"{name}{f'-{taken}' if taken else ''}.jsonl"):
        taken += 1
    folder.rename(RECEIPTS_FILE, f"{name}{f'-{taken}' if taken else ''}.jsonl", attempts=1)


def _compact(at: str) -> str:
    """`2026-12-01T07:30:00Z` as `20261201T073000Z`; "" when it is not such a time."""
    text = at.replace("-", "").replace(":", "")
    return text if _COMPACT_RE.match(text) else ""


def segments(folder: Path) -> list[tuple[str, str, Path]]:
    """A host's set-aside receipt files as (first at, last at, path), oldest first."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [
        (m.group(1), m.group(2), folder / name) for name in names if (m := _SEGMENT_RE.match(name))
    ]
    return sorted(found)


def receipts_for(root: Root, conv_id: str, since: str, until: str) -> list[Receipt]:
    """Every receipt of one conversation, from every host: the current files and the
    segments that overlap [since, until] (its opening and its last update)."""
    start, end = _compact(since) or "0", _compact(until) or "9"
    out: list[Receipt] = []
    try:
        hosts = [e for e in os.scandir(root.hosts) if NAME_RE.match(e.name)]
    except OSError:
        return out
    for entry in hosts:
        folder = Path(entry.path)
        paths = [p for first, last, p in segments(folder) if last >= start and first <= end]
        for path in [*paths, folder / RECEIPTS_FILE]:
            try:
                lines, _offset, _inode = read_new_lines(path, 0, None, TAIL_CAP)
            except (OSError, Unreadable):
                continue
            out.extend(r for r in parse_receipts(entry.name, lines) if r.conversation == conv_id)
    return out


class ReceiptTail:
    """Reads every host's deliveries.jsonl incrementally (new complete lines only). It
    starts with the newest set-aside segment, so the latest state of every delivery is
    known at once, and a file set aside between two looks is read to its end first."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self._offsets: dict[Path, tuple[int | None, int]] = {}  # path -> (inode, offset)

    def poll(self) -> list[Receipt]:
        """Receipts appended since the last poll, from every host."""
        out: list[Receipt] = []
        try:
            host_dirs = [e for e in os.scandir(self.root.hosts) if NAME_RE.match(e.name)]
        except OSError:
            return out
        for entry in host_dirs:
            path = Path(entry.path) / RECEIPTS_FILE
            out.extend(self._read_new(entry.name, path))
        return out

    def _read_new(self, host: str, path: Path) -> list[Receipt]:
        out: list[Receipt] = []
        known = self._offsets.get(path)
        older = segments(path.parent)
        if known is None and older:  # the first look: the newest segment too
            out += self._read_whole(host, older[-1][2], 0)
        elif known is not None and older:
            try:
                moved = os.stat(path).st_ino != known[0]
            except OSError:
                moved = True
            if moved:  # set aside since the last look: its last lines, from where we were
                for _first, _last, segment in reversed(older):
                    try:
                        if os.stat(segment).st_ino == known[0]:
                            out += self._read_whole(host, segment, known[1])
                            break
                    except OSError:
                        continue
        inode, offset = known or (None, 0)
        try:
            lines, offset, inode = read_new_lines(path, offset, inode, TAIL_CAP)
        except (OSError, Unreadable):
            return out
        self._offsets[path] = (inode, offset)
        return out + parse_receipts(host, lines)

    def _read_whole(self, host: str, path: Path, offset: int) -> list[Receipt]:
        try:
            st = os.stat(path)
            lines, _offset, _inode = read_new_lines(path, offset, st.st_ino, TAIL_CAP)
        except (OSError, Unreadable):
            return []
        return parse_receipts(host, lines)


def parse_receipts(host: str, lines: bytes) -> list[Receipt]:
    """The receipts in complete lines of a deliveries.jsonl; other lines are skipped."""
    out = []
    for line in lines.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and (r := Receipt.from_json(host, parsed)):
            out.append(r)
    return out


def read_receipts(root: Root, host: str) -> list[Receipt]:
    """One host's newest receipts, oldest first: the current file and the segments set
    aside before it, TAIL_CAP bytes in all at most; [] when unreadable."""
    folder = root.host_dir(host)
    paths, size = [receipts_path(root, host)], 0
    for _first, _last, segment in reversed(segments(folder)):
        try:
            size += os.stat(paths[0]).st_size
        except OSError:
            pass
        if size >= TAIL_CAP:
            break
        paths.insert(0, segment)
    out: list[Receipt] = []
    for path in paths:
        try:
            lines, _offset, _inode = read_new_lines(path, 0, None, TAIL_CAP)
        except (OSError, Unreadable):
            continue
        out += parse_receipts(host, lines)
    return out
