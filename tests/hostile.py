"""A talk root in which every field the console or the command line shows carries markup
and terminal control sequences, as a hostile (or buggy) host could write them."""

from __future__ import annotations

from pathlib import Path

from talkroom.core.codec import render
from talkroom.core.model import Block, Conversation
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt, append_receipt
from talkroom.watch.heartbeat import write_heartbeat

# What each would do if interpreted: quit the console on click, crash the markup parser,
# open a link, write the clipboard, retitle the terminal, clear the screen, reverse text.
MARKUP = "[@click=app.quit]click me[/] [/] [bold]b"
OSC8 = "\x1b]8;;http://evil.example/osc8\x1b\\osc8 link\x1b]8;;\x1b\\"
OSC52 = "\x1b]52;c;ZWNobyBvd25lZA==\x07"
TITLE = "\x1b]0;pwned-title\x07\x1b[2J\u202eevil"
HOSTILE = f"{MARKUP} {OSC8} {OSC52} {TITLE}"
# Markers that must never appear inside an escape sequence the terminal receives.
PAYLOADS = (b"evil.example", b"ZWNobyBvd25lZA", b"pwned-title")
NAME = "[@click=app.quit]x[/]"  # as a participant, a receipt's target, a session's agent
HOST = "test-host"
BODY = (
    f"{HOSTILE}\n\nA [markdown link](http://evil.example/md) and <http://evil.example/auto>"
    f" and ![an image](http://evil.example/img.png).\n\n```\n{OSC52} in code\n```\n"
)


def _conversation(
    conv_id: str, next_: str, status: str = "IN-PROGRESS", extra: dict[str, str] | None = None
) -> bytes:
    header = {
        "topic": HOSTILE,
        "opened by": "moderator",
        "participants": f"alpha, {NAME}, beta",
        "status": status,
        "turns": "2",
        "max turns": "20",
        "next": next_,
        "revision": "2",
        "opened at": "2026-11-21T13:00:00Z",
        "updated at": "2026-11-21T13:01:00Z",
        **(extra or {}),
    }
    blocks = [
        Block(
            "Opening",
            "moderator",
            "2026-11-21T13:00:00Z",
            BODY,
            f"{conv_id[-6:]}-open",
            turn=1,
            budget=20,
            next=["alpha"],
        ),
        Block(
            "Reply",
            NAME,
            f"2026-11-21T13:01:00Z {HOSTILE}",
            BODY,
            f"{conv_id[-6:]}-rep",
            turn=2,
            budget=20,
            next=next_.split(", "),
        ),
    ]
    return render(Conversation(conv_id, header, blocks))


def build(path: Path) -> tuple[Root, str]:
    """The root, and the id of its live hostile conversation."""
    root = Root(path, "test")
    root.conversations.mkdir(parents=True)
    live = "20261121-130000-hostile"
    (root.conversations / f"{live}.md").write_bytes(_conversation(live, f"alpha, {NAME}"))
    (root.conversations / "20261121-120000-closed.md").write_bytes(
        _conversation("20261121-120000-closed", "none", "CLOSED", {"resolution": HOSTILE})
    )
    (root.conversations / "20261121-110000-paused.md").write_bytes(
        _conversation("20261121-110000-paused", "alpha", "PAUSED", {"paused reason": HOSTILE})
    )
    # A lock broken by a "host" whose name is markup.
    (root.conversations / f".{live}.md.lock.broken.[b]x[@click=app.quit].1.a").mkdir()
    for host in ("far", HOST):
        write_heartbeat(
            root,
            host,
            {
                "host": HOSTILE,
                "pid": "1",
                "mode": HOSTILE,
                "heartbeat": "2026-11-21T13:59:00Z",
                "error": HOSTILE,
            },
        )
        append_receipt(
            root,
            host,
            Receipt(
                host,
                "2026-11-21T13:01:01Z",
                live,
                f"{live[-6:]}-rep",
                2,
                NAME,
                HOSTILE,
                f"deferred:{HOSTILE}",
                None,
            ),
        )
    (root.host_dir("far") / "sessions.yaml").write_text(
        'sessions:\n  alpha:\n    agent: "[@click=app.quit]a[/]"\n    pane: "%1"\n'
        '    pane pid: "2"\n    socket: "/tmp/[/]s"\n    server pid: "1"\n'
    )
    return root, live
