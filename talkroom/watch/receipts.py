"""Delivery receipts (`deliveries.jsonl`) and the cursor of assignments already handled.

Every attempt is one JSON line in `hosts/<host>/deliveries.jsonl`, written by that host's
watcher only. `cursor.yaml` remembers, per conversation, the current assignment and what
happened to each target: an intent ("typing") is recorded before the line is typed, the
outcome after. A target with any cursor state is never typed into again for that
assignment, so neither a crash nor a restart causes a second typing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from talkroom.core import clock, store
from talkroom.core.errors import StoreError, Unreadable
from talkroom.core.files import Folder, read_capped, read_new_lines
from talkroom.core.names import NAME_RE
from talkroom.core.paths import Root

RECEIPTS_FILE = "deliveries.jsonl"
TAIL_CAP = 8 * 1024 * 1024  # read at most this much of a host's receipts at one look
CURSOR_FILE = "cursor.yaml"
CURSOR_CAP = 4 * 1024 * 1024
RECEIPT_KEYS = ("at", "conversation", "assignment", "revision", "target", "pane", "outcome",
                "latency_ms")
TYPING, DELIVERED, UNKNOWN, NOT_SUBMITTED = "typing", "delivered", "unknown", "not-submitted"


class Receipt:
    """One line of deliveries.jsonl, with the host whose file it came from."""

    __slots__ = ("assignment", "at", "conversation", "host", "latency_ms", "outcome", "pane",
                 "path", "revision", "target", "typed")

    def __init__(self, host: str, at: str, conversation: str, assignment: str, revision: int,
                 target: str, pane: str, outcome: str, latency_ms: int | None,
                 typed: bool | None = None, path: str | None = None) -> None:
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
        self.path = path  # how: typed, inbox (Claude Code's socket), queue (codex queue)

    def __repr__(self) -> str:
        return f"Receipt({self.conversation}/{self.assignment} -> {self.target}: {self.outcome})"

    def to_json(self) -> dict[str, object]:
        """The line's object (without the host: the file says which host)."""
        out = {k: getattr(self, k) for k in RECEIPT_KEYS}
        if self.typed is not None:
            out["typed"] = self.typed
        if self.path is not None:
            out["path"] = self.path
        return out

    @classmethod
    def from_json(cls, host: str, data: dict[str, object]) -> Receipt | None:
        """A receipt from a parsed line, or None when the line is not one."""
        try:
            latency = data.get("latency_ms")
            typed, path = data.get("typed"), data.get("path")
            return cls(host, str(data["at"]), str(data["conversation"]),
                       str(data["assignment"]), int(str(data.get("revision", 0))),
                       str(data["target"]), str(data.get("pane", "")), str(data["outcome"]),
                       int(str(latency)) if latency is not None else None,
                       typed if isinstance(typed, bool) else None,
                       path if path in ("typed", "inbox", "queue") else None)
        except (KeyError, ValueError):
            return None

    def describe(self) -> str:
        """`delivered to codex on linux-box in 0.7 s`, `deferred: busy (codex on h)`, ..."""
        from talkroom.core.sanitise import sanitise_line

        who = f"{sanitise_line(self.target)} on {sanitise_line(self.host)}"
        how = {"inbox": " through its inbox", "queue": " with codex queue"}.get(self.path or "", "")
        if self.kind == "delivered":
            took = f" in {self.latency_ms / 1000:.1f} s" if self.latency_ms is not None else ""
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
    through."""
    line = (json.dumps(receipt.to_json(), ensure_ascii=True) + "\n").encode()
    with Folder(root.path, "hosts", host, create=True) as folder:
        folder.append(RECEIPTS_FILE, line)


class ReceiptTail:
    """Reads every host's deliveries.jsonl incrementally (new complete lines only)."""

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
        inode, offset = self._offsets.get(path, (None, 0))
        try:
            lines, offset, inode = read_new_lines(path, offset, inode, TAIL_CAP)
        except (OSError, Unreadable):
            return []
        self._offsets[path] = (inode, offset)
        out = []
        for line in lines.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and (r := Receipt.from_json(host, parsed)):
                out.append(r)
        return out


class Cursor:
    """This host's cursor.yaml: conversation -> (assignment, {target: state at time}).

    What is in memory is the truth while the watcher runs (only it writes the file); at
    start the file is read line by line, so a damaged line loses only itself, and what
    deliveries.jsonl says was typed is added back: nothing delivered is ever forgotten.
    """

    def __init__(self, root: Root, host: str) -> None:
        self.root = root
        self.host = host
        self.path = root.host_dir(host) / CURSOR_FILE
        self._data: dict[str, tuple[str, dict[str, str]]] = {}
        self.damaged = 0  # lines of the file that could not be read
        self.reload()

    def reload(self) -> None:
        """Read the file (a missing file is an empty cursor) and this host's receipts."""
        try:
            data = read_capped(self.path, CURSOR_CAP, what="cursor.yaml")
        except FileNotFoundError:
            data = b""
        except (OSError, Unreadable) as exc:
            why = exc.message if isinstance(exc, Unreadable) else exc.strerror
            raise StoreError(f"cannot read {self.path}: {why}; deliveries.jsonl keeps what "
                             "was typed, so moving it away types nothing twice") from None
        parsed, self.damaged = parse_cursor(data)
        for conv_id, (assignment, targets) in typed_by_receipts(self.root, self.host).items():
            known = parsed.get(conv_id)
            if known is None or _later(assignment, known[0]):  # an older cursor put back
                parsed[conv_id] = (assignment, targets)
            elif known[0] == assignment:
                parsed[conv_id] = (assignment, {**targets, **known[1]})
        self._data = parsed

    def state(self, conv_id: str, assignment: str, target: str) -> str | None:
        """What happened to `target` for this assignment: None if nothing yet."""
        current = self._data.get(conv_id)
        if current is None or current[0] != assignment:
            return None
        value = current[1].get(target)
        return value.split(" ", 1)[0] if value else None

    def entries(self) -> dict[str, tuple[str, dict[str, str]]]:
        """A copy of everything recorded."""
        return {k: (a, dict(t)) for k, (a, t) in self._data.items()}

    def mark(self, conv_id: str, assignment: str, target: str, state: str) -> None:
        """Record `state` for target durably (fsync'd) before returning."""
        old_assignment, targets = self._data.get(conv_id, (assignment, {}))
        # A new assignment: what was done for the old one is moot.
        targets = dict(targets) if old_assignment == assignment else {}
        targets[target] = f"{state} {clock.iso(clock.now())}"
        self._write({**self._data, conv_id: (assignment, targets)})

    def clear(self, conv_id: str, assignment: str, target: str) -> None:
        """Forget an intent that reached nothing (a native wake-up that could not start)."""
        current = self._data.get(conv_id)
        if current is None or current[0] != assignment or target not in current[1]:
            return
        targets = {t: v for t, v in current[1].items() if t != target}
        self._write({**self._data, conv_id: (assignment, targets)})

    def forget(self, conv_ids: set[str]) -> None:
        """Drop conversations that no longer need a cursor (closed or gone)."""
        if conv_ids & set(self._data):
            self._write({k: v for k, v in self._data.items() if k not in conv_ids})

    def _write(self, data: dict[str, tuple[str, dict[str, str]]]) -> None:
        rendered = render_cursor(self.host, data)
        store.locked_update(self.path, lambda _current: rendered, host=self.host)
        self._data = data


def _later(one: str, other: str) -> bool:
    """True when assignment `one` came after `other`: block ids start with their time."""
    if one.startswith("h") or other.startswith("h"):
        return False  # an older file's hashed ids say nothing of time
    return one.split("-", 1)[0] > other.split("-", 1)[0]


_INDENTS = {2: "conversation", 4: "field", 6: "target"}


def parse_cursor(data: bytes) -> tuple[dict[str, tuple[str, dict[str, str]]], int]:
    """The cursor as written by `render_cursor`, read line by line: (entries, how many
    lines could not be read). A damaged line loses itself, never the rest."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    bad = 0
    conv: str | None = None
    for raw in data.decode("utf-8", "replace").split("\n"):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#") or line.startswith("conversations:"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        key, colon, value = line.strip().partition(":")
        value = value.strip()
        kind = _INDENTS.get(indent)
        if not colon or kind is None:
            bad += 1
        elif kind == "conversation" and not value and NAME_RE.match(key):
            conv = key
            out[conv] = ("", {})
        elif conv is None:
            bad += 1
        elif kind == "field" and key == "assignment" and _ASSIGNMENT_RE.match(value):
            out[conv] = (value, out[conv][1])
        elif kind == "field" and key == "targets" and value in ("", "{}"):
            pass
        elif kind == "target" and NAME_RE.match(key) and _STATE_RE.match(value):
            out[conv][1][key] = value
        else:
            bad += 1
    return {k: v for k, v in out.items() if v[0]}, bad


_ASSIGNMENT_RE = re.compile(r"^[0-9a-z][0-9a-z-]{0,62}$")
_STATE_RE = re.compile(r"^[a-z-]+ \S+$")


def render_cursor(host: str, data: dict[str, tuple[str, dict[str, str]]]) -> bytes:
    """cursor.yaml for `host`."""
    lines = [f"# Assignments handled by the watcher of host {host}: a restart never re-delivers.",
             "conversations:" if data else "conversations: {}"]
    for conv_id in sorted(data):
        assignment, targets = data[conv_id]
        lines.append(f"  {conv_id}:")
        lines.append(f"    assignment: {assignment}")
        lines.append("    targets:" if targets else "    targets: {}")
        lines.extend(f"      {t}: {v}" for t, v in sorted(targets.items()))
    return ("\n".join(lines) + "\n").encode()


def typed_by_receipts(root: Root, host: str) -> dict[str, tuple[str, dict[str, str]]]:
    """What this host's deliveries.jsonl says was (maybe) typed, per conversation: the
    latest assignment and its targets, in the cursor's shape."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    try:
        lines, _offset, _inode = read_new_lines(receipts_path(root, host), 0, None, TAIL_CAP)
    except (OSError, Unreadable):
        return out
    for line in lines.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        receipt = Receipt.from_json(host, parsed) if isinstance(parsed, dict) else None
        if receipt is None or not receipt.was_typed:
            continue
        assignment, targets = out.get(receipt.conversation, (receipt.assignment, {}))
        if assignment != receipt.assignment:
            targets = {}
        targets[receipt.target] = f"{receipt.kind} {receipt.at}"
        out[receipt.conversation] = (receipt.assignment, targets)
    return out
