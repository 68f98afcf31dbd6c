"""The console's writes: each one a callable run in a worker thread through the protocol core,
its outcome posted back as one WriteDone message, its failure turned into one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.message import Message
from textual.message_pump import MessagePump

from talkroom.console import undo
from talkroom.core import moderate, ops
from talkroom.core.errors import BadInput, TalkError, os_reason
from talkroom.core.model import Conversation
from talkroom.core.paths import Root
from talkroom.core.receipts import Receipt


@dataclass(frozen=True)
class Outcome:
    """What a finished write says, and the conversation to show after it."""

    said: str = ""  # a toast ("": the closing dialog says enough)
    conv_id: str | None = None  # select this conversation once the tailer has seen it
    undo: Write | None = None  # takes this write back (offered for a few seconds)
    did: str = ""  # what the write did, for the toast that offers the undo


Write = Callable[[], Outcome]  # runs the operation; raises TalkError or OSError when it fails


class WriteDone(Message, bubble=False):
    """A write finished: its outcome, or one line on why it did not happen."""

    def __init__(self, outcome: Outcome | None, error: str | None) -> None:
        super().__init__()
        self.outcome = outcome
        self.error = error


def failure(exc: Exception) -> str:
    """One line on why a write failed: a refusal's message, or what an OSError means."""
    if isinstance(exc, TalkError):
        return exc.message
    if isinstance(exc, OSError):
        return f"cannot write: {os_reason(exc)}"
    # A bug, not a refusal; the console keeps running and says what it was.
    return f"{type(exc).__name__}: {exc}"


def perform(write: Write, to: MessagePump, otherwise: MessagePump | None = None) -> None:
    """Run `write` (in a worker thread) and post its WriteDone to `to`, or to `otherwise`
    when `to` has closed meanwhile (a dialog left with Escape); never raises."""
    try:
        done = WriteDone(write(), None)
    except Exception as exc:
        done = WriteDone(None, failure(exc))
    if not to.post_message(done) and otherwise is not None:
        otherwise.post_message(done)


class Writer:
    """Makes the moderator's writes for one talk root, host and moderator name."""

    def __init__(self, root: Root, host: str, moderator: str) -> None:
        self.root = root
        self.host = host
        self.moderator = moderator

    def moderate(
        self,
        conv_id: str,
        action: str,
        *,
        said: str = "",
        next_: list[str] | None = None,
        body: str = "",
        by: int | None = None,
    ) -> Write:
        """One moderator action (next, inject, pause, resume, close, reopen, extend, nudge),
        with its undo where there is one."""

        def write() -> Outcome:
            plan = moderate.plan_moderate(
                self.root, conv_id, action, moderator=self.moderator, next_=next_, body=body, by=by
            )
            seen: list[Conversation | None] = []
            change = plan.change

            def noting(current: Conversation | None) -> Conversation:
                seen.append(current)  # the version the action applies to (the last try's)
                return change(current)

            plan.change = noting
            ops.run(plan, self.host)
            before = seen[-1] if seen else None
            back = undo.reverse(before, action) if before is not None else None
            if back is None:
                return Outcome(said)
            return Outcome(said, undo=self._undo(conv_id, plan.block_id, back), did=back.did)

        return write

    def _undo(self, conv_id: str, block_id: str, back: undo.Reverse) -> Write:
        def write() -> Outcome:
            plan = moderate.plan_moderate(
                self.root,
                conv_id,
                back.action,
                moderator=self.moderator,
                next_=back.next_,
                body=back.body,
            )
            ops.run(undo.only_if_last(plan, block_id), self.host)
            return Outcome(f"undone: {back.did}")

        return write

    def archive(self, conv_id: str | None, days_text: str) -> Write:
        """Archive one closed conversation, or (None) every one closed more than `days_text`
        days ago; BadInput at once for a bad number; the undo restores them."""
        from talkroom.core import archive

        try:
            days = float(days_text)
        except ValueError:
            raise BadInput(f"{days_text!r} is not a number of days") from None

        def write() -> Outcome:
            ids = [conv_id] if conv_id is not None else archive.due(self.root, days)
            if not ids:
                raise BadInput(
                    f"nothing to archive: no conversation closed more than {days:g} days ago"
                )
            done: list[str] = []
            refused: list[str] = []
            for one in ids:
                try:
                    archive.archive(self.root, one, self.host)
                except TalkError as exc:
                    if len(ids) == 1:
                        raise
                    refused.append(exc.message)
                else:
                    done.append(one)
            did = f"archived {done[0]}" if len(done) == 1 else f"archived {len(done)} conversations"
            if refused:
                did += f" ({len(refused)} refused: {refused[0]})"
            return Outcome(undo=self._restore(done), did=did) if done else Outcome(did)

        return write

    def _restore(self, ids: list[str]) -> Write:
        def write() -> Outcome:
            from talkroom.core import archive

            for one in ids:
                archive.restore(self.root, one, self.host)
            return Outcome(f"undone: {len(ids)} back in the live list")

        return write

    def extend(self, conv_id: str, text: str) -> Write:
        """More turns; raises BadInput at once for text that is not a number."""
        try:
            by = int(text)
        except ValueError:
            raise BadInput(f"{text!r} is not a number of turns") from None
        return self.moderate(conv_id, "extend", by=by)

    def open(self, values: dict[str, str]) -> Write:
        """A new conversation from the open dialog's fields; BadInput at once for a bad
        budget, the rest is checked by the core when it runs."""
        try:
            budget = int(values["budget"] or "20")
        except ValueError:
            raise BadInput(f"budget {values['budget']!r} is not a number") from None
        next_ = ops.parse_names(values["next"]) if values["next"].strip() else None

        def write() -> Outcome:
            plan = ops.plan_open(
                self.root,
                topic=values["topic"],
                opener="moderator",
                with_=values["with"].split(","),
                next_=next_,
                max_turns=budget,
                body=values["body"],
                moderator=self.moderator,
            )
            return Outcome(conv_id=ops.open_conversation(self.root, plan, self.host).conv.id)

        return write

    @staticmethod
    def export(conv: Conversation, receipts: list[Receipt], path_text: str) -> Write:
        """The conversation as a file: .html (one self-contained page) or else Markdown."""

        def write() -> Outcome:
            from talkroom import export

            path = Path(path_text.strip() or f"{conv.id}.html").expanduser()
            text = (
                export.to_html(conv, receipts)
                if path.suffix in (".html", ".htm")
                else export.to_markdown(conv)
            )
            export.write_file(path, text)
            return Outcome(f"exported to {path.absolute()}")

        return write
