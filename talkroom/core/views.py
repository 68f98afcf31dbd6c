"""Conversations as JSON objects and as sanitised plain text, for the helper's output."""

from __future__ import annotations

from talkroom.core import clock, journal
from talkroom.core.model import Block, Conversation
from talkroom.core.names import join_names
from talkroom.core.sanitise import sanitise, sanitise_line
from talkroom.core.store import Snapshot


def activity(conv: Conversation) -> float:
    """When the conversation last changed: `updated at`, else the file's mtime."""
    stamp = clock.parse_loose(conv.updated_at) if conv.updated_at else None
    return stamp if stamp is not None else conv.mtime


def newest_first(snaps: list[Snapshot]) -> list[Snapshot]:
    """Snapshots by last activity, newest first; unreadable files by mtime."""

    def key(snap: Snapshot) -> tuple[float, str]:
        if snap.conv is not None:
            return (activity(snap.conv), snap.conv_id)
        try:
            return (snap.path.stat().st_mtime, snap.conv_id)
        except OSError:
            return (0.0, snap.conv_id)

    return sorted(snaps, key=key, reverse=True)


def block_dict(block: Block) -> dict[str, object]:
    """One block as `show --json` prints it."""
    return {
        "kind": block.kind,
        "author": block.author,
        "at": block.at,
        "turn": block.turn,
        "action": block.action,
        "body": block.body,
        "next": block.next,
        "id": block.block_id,
    }


def conversation_dict(snap: Snapshot, *, blocks: bool = True) -> dict[str, object]:
    """One conversation as `show --json` (and, without blocks, `list --json`) prints it."""
    conv = snap.conv if snap.readable else None
    out: dict[str, object] = {
        "id": snap.conv_id,
        "path": str(snap.path),
        "topic": conv.topic if conv else None,
        "status": conv.status if conv else None,
        "turns": conv.turns if conv else None,
        "max_turns": conv.max_turns if conv else None,
        "next": conv.next if conv else [],
        "participants": conv.participants if conv else [],
        "revision": conv.revision if conv else None,
        "opened_by": conv.opened_by if conv else None,
        "resolution": conv.resolution if conv else None,
        "readable": conv is not None,
        "edited_by_hand": conv.edited_by_hand if conv else False,
        "lost_blocks": [e.block_id for e in conv.lost] if conv else [],
    }
    if blocks:
        out["blocks"] = [block_dict(b) for b in conv.blocks] if conv else []
    if conv is None:
        out["error"] = snap.error or "unreadable"
    return out


def summary_line(snap: Snapshot) -> str:
    """One sanitised line for `talkroom list`."""
    if not snap.readable or snap.conv is None:
        return f"{snap.conv_id}  UNREADABLE  {sanitise_line(snap.error or 'unreadable')}"
    conv = snap.conv
    hand = "  (edited by hand)" if conv.edited_by_hand else ""
    if conv.lost:
        hand += f"  ({len(conv.lost)} committed block(s) no longer in the file)"
    return (
        f"{conv.id}  {conv.status:<11}  {conv.turns}/{conv.max_turns}  "
        f"next {sanitise_line(join_names(conv.next))}  {sanitise_line(conv.topic)}{hand}"
    )


def header_text(conv: Conversation) -> str:
    """The sanitised summary lines above a transcript."""
    lines = [
        f"{conv.id}: {sanitise_line(conv.topic)}",
        f"status {conv.status}, turn {conv.turns}/{conv.max_turns}, "
        f"next {sanitise_line(join_names(conv.next))}, revision {conv.revision}",
        f"participants {sanitise_line(join_names(conv.participants))}; "
        f"opened by {sanitise_line(conv.opened_by or '?')}",
        f"file {conv.path}",
    ]
    if conv.paused_reason:
        lines.append(f"paused: {sanitise_line(conv.paused_reason)}")
    if conv.resolution:
        lines.append(f"resolution: {sanitise_line(conv.resolution)}")
    if conv.edited_by_hand:
        lines.append("edited by hand (the trailer does not match)")
    if conv.path is not None:
        lines += [f"warning: {journal.describe(e, conv.path)}" for e in conv.lost]
    return "\n".join(lines)


def block_text(block: Block) -> str:
    """One block as sanitised plain text, shaped like the file but never escaped."""
    lines = [f"## {block.kind} -- {sanitise_line(block.author)} @ {sanitise_line(block.at)}"]
    if block.kind == "Moderator":
        lines.append(f"Action: {sanitise_line(block.action or '?')}")
        lines.extend(
            f"{sanitise_line(k)}: {sanitise_line(a)} -> {sanitise_line(b)}"
            for k, a, b in block.changes
        )
    elif block.turn is not None:
        lines.append(f"Turn {block.turn}/{block.budget}")
    text = "\n".join(lines) + "\n"
    if block.body:
        text += "\n" + sanitise(block.body) + "\n"
    if block.next is not None:
        text += f"\nNEXT: {sanitise_line(join_names(block.next))}\n"
    return text


def action_text(block: Block) -> str:
    """A moderator block as one sanitised line: `set next: a → b`, `paused: lunch`, ..."""
    changes = {k: (sanitise_line(a), sanitise_line(b)) for k, a, b in block.changes}
    names = sanitise_line(join_names(block.next or []))
    action = block.action or "?"
    if action == "next":
        old, new = changes.get("next", ("", names))
        return f"set next: {old} → {new}" if old else f"set next: {new}"
    if action == "pause":
        return f"paused: {sanitise_line(block.body)}" if block.body else "paused"
    if action == "resume":
        return f"resumed; next: {names}"
    if action == "close":
        return f"closed: {sanitise_line(block.body)}"
    if action == "extend":
        old, new = changes.get("max turns", ("?", "?"))
        return f"extended the budget {old} → {new} turns"
    if action == "nudge":
        return f"nudged {names}"
    if action == "inject":
        return "says:" if block.next is None else f"says (then next: {names}):"
    return sanitise_line(action)
