"""Which moderator actions can be undone, and by what: each one by another moderator action
(a block in the file, so the history and replay show both). An inject or a nudge has been
read by the agents, and a budget only grows: those have no undo."""

from __future__ import annotations

from talkroom.core.errors import Refused
from talkroom.core.model import Conversation
from talkroom.core.names import join_names
from talkroom.core.ops import Plan
from talkroom.core.sanitise import sanitise_line


class Reverse:
    """The moderator action that takes one back, and what the toasts say."""

    __slots__ = ("action", "body", "did", "next_")

    def __init__(
        self, action: str, did: str, next_: list[str] | None = None, body: str = ""
    ) -> None:
        self.action = action
        self.did = did  # what the action did, for the toast that offers the undo
        self.next_ = next_
        self.body = body


def reverse(before: Conversation, action: str) -> Reverse | None:
    """How to take `action` back, given the conversation just before it; None: it cannot."""
    topic = f"“{sanitise_line(before.topic) or before.id}”"
    if action == "close":
        return Reverse("reopen", f"closed {topic}", next_=before.next or None)
    if action == "reopen":
        return Reverse("close", f"reopened {topic}", body=before.resolution or "closed")
    if action == "pause":
        return Reverse("resume", f"paused {topic}")
    if action == "resume":
        return Reverse("pause", f"resumed {topic}", body=before.paused_reason or "")
    if action == "next" and before.next:
        return Reverse("next", f"set next in {topic}", next_=before.next)
    return None


def only_if_last(plan: Plan, block_id: str) -> Plan:
    """The plan, refused unless block `block_id` is still the conversation's latest: an
    undo must not take back what someone said since."""
    change = plan.change

    def guarded(current: Conversation | None) -> Conversation:
        if current is not None and (not current.blocks or current.blocks[-1].block_id != block_id):
            latest = current.blocks[-1] if current.blocks else None
            who = sanitise_line(latest.author) if latest is not None else "someone"
            raise Refused(
                f"not undone: {who} wrote to {current.id} since; see the transcript "
                f"(next is {join_names(current.next) or 'nobody'})"
            )
        return change(current)

    plan.change = guarded
    return plan
