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
from pathlib import Path

from talkroom.core import clock, store
from talkroom.core.errors import StoreError, Unreadable
from talkroom.core.header import load_yaml
from talkroom.core.names import NAME_RE
from talkroom.core.paths import Root

RECEIPTS_FILE = "deliveries.jsonl"
CURSOR_FILE = "cursor.yaml"
RECEIPT_KEYS = ("at", "conversation", "assignment", "revision", "target", "pane", "outcome",
                "latency_ms")
TYPING, DELIVERED, UNKNOWN, NOT_SUBMITTED = "typing", "delivered", "unknown", "not-submitted"


class Receipt:
    """One line of deliveries.jsonl, with the host whose file it came from."""

    __slots__ = ("assignment", "at", "conversation", "host", "latency_ms", "outcome", "pane",
                 "revision", "target")

    def __init__(self, host: str, at: str, conversation: str, assignment: str, revision: int,
                 target: str, pane: str, outcome: str, latency_ms: int | None) -> None:
        self.host = host
        self.at = at
        self.conversation = conversation
        self.assignment = assignment
        self.revision = revision
        self.target = target
        self.pane = pane
        self.outcome = outcome
        self.latency_ms = latency_ms

    def __repr__(self) -> str:
        return f"Receipt({self.conversation}/{self.assignment} -> {self.target}: {self.outcome})"

    def to_json(self) -> dict[str, object]:
        """The line's object (without the host: the file says which host)."""
        return {k: getattr(self, k) for k in RECEIPT_KEYS}

    @classmethod
    def from_json(cls, host: str, data: dict[str, object]) -> Receipt | None:
        """A receipt from a parsed line, or None when the line is not one."""
        try:
            latency = data.get("latency_ms")
            return cls(host, str(data["at"]), str(data["conversation"]),
                       str(data["assignment"]), int(str(data.get("revision", 0))),
                       str(data["target"]), str(data.get("pane", "")), str(data["outcome"]),
                       int(str(latency)) if latency is not None else None)
        except (KeyError, ValueError):
            return None

    def describe(self) -> str:
        """`delivered to codex on linux-box in 0.7 s`, `deferred: busy (codex on h)`, ..."""
        from talkroom.core.sanitise import sanitise_line

        who = f"{sanitise_line(self.target)} on {sanitise_line(self.host)}"
        if self.kind == "delivered":
            took = f" in {self.latency_ms / 1000:.1f} s" if self.latency_ms is not None else ""
            return f"delivered to {who}{took}"
        return f"{self.kind}: {sanitise_line(self.reason) or '?'} ({who})"

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
    """Append one line; only this host's watcher writes this file, so O_APPEND is safe."""
    path = receipts_path(root, host)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(receipt.to_json(), ensure_ascii=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class ReceiptTail:
    """Reads every host's deliveries.jsonl incrementally (new complete lines only)."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self._offsets: dict[Path, tuple[int, int]] = {}  # path -> (inode, offset)

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
        try:
            st = os.stat(path)
        except OSError:
            return []
        inode, offset = self._offsets.get(path, (st.st_ino, 0))
        if inode != st.st_ino or st.st_size < offset:
            offset = 0  # replaced or truncated: read it again from the start
        if st.st_size == offset:
            return []
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(st.st_size - offset)
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._offsets[path] = (st.st_ino, offset + len(complete))
        out = []
        for line in complete.splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and (r := Receipt.from_json(host, parsed)):
                out.append(r)
        return out


class Cursor:
    """This host's cursor.yaml: conversation -> (assignment, {target: state at time})."""

    def __init__(self, root: Root, host: str) -> None:
        self.root = root
        self.host = host
        self.path = root.host_dir(host) / CURSOR_FILE
        self._data: dict[str, tuple[str, dict[str, str]]] = {}
        self.reload()

    def reload(self) -> None:
        """Read the file (a missing file is an empty cursor)."""
        try:
            data = store.read_bytes(self.path)
        except FileNotFoundError:
            self._data = {}
            return
        except (OSError, Unreadable) as exc:
            raise StoreError(f"cannot read {self.path}: {exc}; fix or remove it") from None
        self._data = _parse_cursor(data)

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
        stamp = f"{state} {clock.iso(clock.now())}"

        def update(current: bytes | None) -> bytes:
            data = _parse_cursor(current) if current else {}
            old_assignment, targets = data.get(conv_id, (assignment, {}))
            if old_assignment != assignment:
                targets = {}  # a new assignment: what was done for the old one is moot
            targets[target] = stamp
            data[conv_id] = (assignment, targets)
            self._data = data
            return _render_cursor(self.host, data)

        store.locked_update(self.path, update, host=self.host)

    def forget(self, conv_ids: set[str]) -> None:
        """Drop conversations that no longer need a cursor (closed or gone)."""
        if not conv_ids & set(self._data):
            return

        def update(current: bytes | None) -> bytes:
            data = _parse_cursor(current) if current else {}
            for conv_id in conv_ids:
                data.pop(conv_id, None)
            self._data = data
            return _render_cursor(self.host, data)

        store.locked_update(self.path, update, host=self.host)


def _parse_cursor(data: bytes) -> dict[str, tuple[str, dict[str, str]]]:
    try:
        doc = load_yaml(data.decode("utf-8", "replace"))
    except Unreadable:
        return {}
    convs = doc.get("conversations") if isinstance(doc, dict) else None
    out: dict[str, tuple[str, dict[str, str]]] = {}
    if not isinstance(convs, dict):
        return out
    for conv_id, entry in convs.items():
        if not (isinstance(entry, dict) and NAME_RE.match(str(conv_id))):
            continue
        targets = entry.get("targets")
        out[str(conv_id)] = (
            str(entry.get("assignment", "")),
            {str(k): str(v) for k, v in targets.items()} if isinstance(targets, dict) else {},
        )
    return out


def _render_cursor(host: str, data: dict[str, tuple[str, dict[str, str]]]) -> bytes:
    lines = [f"# Assignments handled by the watcher of host {host}: a restart never re-delivers.",
             "conversations:" if data else "conversations: {}"]
    for conv_id in sorted(data):
        assignment, targets = data[conv_id]
        lines.append(f"  {conv_id}:")
        lines.append(f"    assignment: {assignment}")
        lines.append("    targets:" if targets else "    targets: {}")
        lines.extend(f"      {t}: {v}" for t, v in sorted(targets.items()))
    return ("\n".join(lines) + "\n").encode()
