"""Search every conversation: topics, bodies, participants and resolutions."""

from __future__ import annotations

from collections.abc import Iterable

from talkroom.core.model import Conversation
from talkroom.core.sanitise import sanitise_line

SNIPPET = 70  # characters of context around a match


class Hit:
    """One match: where it is and a sanitised snippet around it."""

    __slots__ = ("author", "block", "conv_id", "field", "snippet", "topic", "turn")

    def __init__(
        self,
        conv: Conversation,
        field: str,
        snippet: str,
        block: int | None = None,
    ) -> None:
        self.conv_id = conv.id
        self.topic = conv.topic
        self.field = field  # topic, participants, resolution or body
        self.snippet = snippet
        self.block = block  # index of the block whose body matched
        found = conv.blocks[block] if block is not None else None
        self.turn = found.turn if found is not None else None
        self.author = found.author if found is not None else None

    def to_json(self) -> dict[str, object]:
        """The hit as `talkroom search --json` prints it."""
        return {
            "conversation": self.conv_id,
            "topic": self.topic,
            "field": self.field,
            "turn": self.turn,
            "block": self.block,
            "author": self.author,
            "snippet": self.snippet,
        }


def snippet(text: str, lowered: str, word: str) -> str:
    """One sanitised line around the first place `word` occurs in `text`."""
    at = max(0, lowered.find(word))
    start = max(0, at - SNIPPET // 2)
    end = min(len(text), at + len(word) + SNIPPET // 2)
    piece = " ".join(text[start:end].split())
    return ("…" if start else "") + sanitise_line(piece) + ("…" if end < len(text) else "")


class Index:
    """Lower-cased text of each conversation, kept per revision: searching again costs no
    re-reading and no re-lowering of what did not change."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int, list[str]]] = {}

    def texts(self, conv: Conversation) -> list[str]:
        """[topic, participants, resolution, body 0, body 1, ...], lower-cased."""
        key = (conv.revision, len(conv.blocks))
        cached = self._cache.get(conv.id)
        if cached is not None and cached[:2] == key:
            return cached[2]
        texts = [
            conv.topic.lower(),
            " ".join(conv.participants).lower(),
            (conv.resolution or "").lower(),
            *(b.body.lower() for b in conv.blocks),
        ]
        self._cache[conv.id] = (*key, texts)
        return texts


def search(
    convs: Iterable[Conversation],
    query: str,
    *,
    status: str | None = None,
    participant: str | None = None,
    index: Index | None = None,
) -> list[Hit]:
    """Conversations whose topic, participants, resolution or a body holds every word of
    `query` (case-insensitive); one hit per matching field, newest conversations first."""
    words = query.lower().split()
    if not words:
        return []
    index = index or Index()
    hits: list[Hit] = []
    for conv in convs:
        if status is not None and conv.status != status:
            continue
        if participant is not None and participant not in conv.participants:
            continue
        texts = index.texts(conv)
        for i, lowered in enumerate(texts):
            if not all(w in lowered for w in words):
                continue
            if i == 0:
                hits.append(Hit(conv, "topic", snippet(conv.topic, lowered, words[0])))
            elif i == 1:
                hits.append(Hit(conv, "participants", sanitise_line(", ".join(conv.participants))))
            elif i == 2:
                hits.append(
                    Hit(conv, "resolution", snippet(conv.resolution or "", lowered, words[0]))
                )
            else:
                body = conv.blocks[i - 3].body
                hits.append(Hit(conv, "body", snippet(body, lowered, words[0]), i - 3))
    return hits
