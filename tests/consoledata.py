"""Fixed conversations for console tests: fixed clock, fixed content, and for snapshots a
folder that shows the same on screen in every run (`~/talks`) but is this run's own."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from talkroom.core import clock, moderate, ops
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt, append_receipt
from talkroom.watch import registry
from talkroom.watch.heartbeat import write_heartbeat
from talkroom.watch.tmux import PaneRef

NOW = "2026-11-21T14:00:00Z"  # the clock the console sees (TALKROOM_FAKE_NOW)
HOST = "snap-host"
T0 = clock.parse_iso("2026-11-21T13:00:00Z")

QUEUE_BODY = """\
I would use **PostgreSQL**: we already run it, and `SKIP LOCKED` gives us a queue.

```sql
SELECT id FROM jobs WHERE state = 'ready' FOR UPDATE SKIP LOCKED LIMIT 1;
```

- no new service to operate
- transactional enqueue with the data it belongs to

See [the docs](https://www.postgresql.org/docs/current/sql-select.html)."""

HOSTILE_BODY = (
    "Title change attempt: \x1b]0;pwned\x07 done.\n"
    "Clear screen: \x1b[2J\x1b[31mred\x1b[0m\n"
    "Bidi: \u202eevil\u202c and markup [bold red]not bold[/] [link=x]no link[/link]"
)


def at(minutes: float) -> float:
    """T0 plus some minutes."""
    return T0 + minutes * 60


def build_at_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Root:
    """`build` at `home`/talks with HOME, the clock and the time zone fixed: the console
    shows the root as ~/talks, whichever folder this test run was given."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("TALKROOM_FAKE_NOW", NOW)
    return build(home / "talks")


def build(path: Path) -> Root:
    """A talk root with a live, a paused, a closed, a needs-you, a hostile and an unreadable
    conversation, receipts from two hosts, heartbeats and sessions."""
    if path.exists():
        shutil.rmtree(path)
    root = Root(path, "test")

    def open_(topic: str, who: list[str], minutes: float, body: str, budget: int = 12) -> str:
        plan = ops.plan_open(
            root,
            topic=topic,
            opener="moderator",
            with_=who,
            body=body,
            max_turns=budget,
            moderator="mod",
            now=at(minutes),
        )
        return ops.open_conversation(root, plan, HOST).conv.id

    def reply(
        conv_id: str, who: str, nxt: str, body: str, minutes: float, close: str | None = None
    ) -> None:
        ops.run(
            ops.plan_reply(
                root, conv_id, author=who, next_=[nxt], body=body, close=close, now=at(minutes)
            ),
            HOST,
        )

    def act(conv_id: str, action: str, minutes: float, **kwargs: object) -> None:
        ops.run(
            moderate.plan_moderate(
                root, conv_id, action, moderator="mod", now=at(minutes), **kwargs
            ),
            HOST,
        )  # type: ignore[arg-type]

    queue = open_(
        "Which queue backend?",
        ["ada", "linus"],
        0,
        "Pick one: PostgreSQL, Redis or SQLite. One paragraph each, then converge.",
    )
    reply(queue, "ada", "linus", QUEUE_BODY, 3)
    reply(queue, "linus", "ada", "Redis is faster, but we would need persistence we lack.", 6)
    act(queue, "inject", 7, body="Keep it to **operations** cost, please.", next_=["ada"])
    reply(queue, "ada", "linus", "Then PostgreSQL: zero new services.", 9)

    paused = open_("Logging format", ["ada", "grace"], 10, "JSON lines or logfmt?")
    reply(paused, "ada", "grace", "JSON lines: every tool reads them.", 12)
    act(paused, "pause", 13, body="waiting for the ops team")

    closed = open_("Test runner", ["linus", "grace"], 15, "pytest or unittest?")
    reply(closed, "linus", "grace", "pytest: fixtures and plain asserts.", 16)
    reply(closed, "grace", "linus", "Agreed.", 17, close="pytest, with pytest-xdist later")

    needs = open_("Release date", ["ada", "linus"], 20, "Friday or Monday?", budget=3)
    reply(needs, "ada", "linus", "Monday: nobody deploys on a Friday.", 22)
    reply(needs, "linus", "ada", "Monday it is, unless the moderator objects.", 25)

    hostile = open_("Hostile \x1b]0;title\x07 topic", ["mallory", "ada"], 30, HOSTILE_BODY)
    del hostile

    (root.conversations / "broken-file.md").write_bytes(
        b"---\ntopic: [unclosed\n---\n\n## Reply -- x @ y\n"
    )

    conv = ops.store.load(root.conversation(queue))
    assignments = [b.block_id for b in conv.blocks if b.assigns]
    receipts = [
        Receipt(
            HOST, "2026-11-21T13:00:01Z", queue, assignments[0], 1, "ada", "%1", "delivered", 700
        ),
        Receipt(
            HOST,
            "2026-11-21T13:03:01Z",
            queue,
            assignments[1],
            2,
            "linus",
            "%2",
            "deferred:busy",
            None,
        ),
        Receipt(
            HOST, "2026-11-21T13:03:40Z", queue, assignments[1], 2, "linus", "%2", "delivered", 650
        ),
        Receipt(
            "far-host",
            "2026-11-21T13:09:02Z",
            queue,
            assignments[-1],
            5,
            "linus",
            "%7",
            "failed:pane gone",
            None,
        ),
    ]
    for receipt in receipts:
        append_receipt(root, receipt.host, receipt)
    write_heartbeat(
        root,
        HOST,
        {
            "host": HOST,
            "pid": "4242",
            "mode": "events",
            "heartbeat": "2026-11-21T13:59:58Z",
            "heartbeat interval": "5",
        },
    )
    write_heartbeat(
        root,
        "far-host",
        {
            "host": "far-host",
            "pid": "99",
            "mode": "polling",
            "heartbeat": "2026-11-21T13:40:00Z",
            "heartbeat interval": "5",
        },
    )
    registry.register(root, HOST, "ada", "claude", PaneRef("/nonexistent/tmux", 1, "%1", 2))
    registry.register(root, "far-host", "linus", "codex", PaneRef("/nonexistent/tmux", 1, "%7", 3))
    return root
