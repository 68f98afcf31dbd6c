"""This host's cursor (`hosts/<host>/cursor.yaml`): the assignments already handled.

It remembers, per conversation, the current assignment and what happened to each target:
an intent ("typing") is recorded before the line is typed, the outcome after. A target
with any cursor state is never typed into again for that assignment, so neither a crash
nor a restart causes a second typing.
"""

from __future__ import annotations

import re

from talkroom.core import clock, hostfiles
from talkroom.core.errors import StoreError, Unreadable
from talkroom.core.files import read_capped
from talkroom.core.names import NAME_RE
from talkroom.core.paths import Root
from talkroom.core.receipts import read_receipts

CURSOR_FILE = "cursor.yaml"
CURSOR_CAP = 4 * 1024 * 1024


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
            raise StoreError(
                f"cannot read {self.path}: {why}; deliveries.jsonl keeps what "
                "was typed, so moving it away types nothing twice"
            ) from None
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
        """Record `state` for target durably (fsync'd) before returning. The outcome of an
        assignment older than the one on record is not written (its receipt keeps it)."""
        old_assignment, targets = self._data.get(conv_id, (assignment, {}))
        if _later(old_assignment, assignment):
            # A run that outlived its assignment (a one-shot command replies, then exits)
            # must not replace the intent recorded since for the next one: a restart would
            # forget that intent and start that run a second time.
            return
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
        hostfiles.locked_update(self.path, lambda _current: rendered, host=self.host)
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
    lines = [
        f"# Assignments handled by the watcher of host {host}: a restart never re-delivers.",
        "conversations:" if data else "conversations: {}",
    ]
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
    for receipt in read_receipts(root, host):
        if not receipt.was_typed:
            continue
        assignment, targets = out.get(receipt.conversation, (receipt.assignment, {}))
        if assignment != receipt.assignment:
            targets = {}
        targets[receipt.target] = f"{receipt.kind} {receipt.at}"
        out[receipt.conversation] = (receipt.assignment, targets)
    return out
