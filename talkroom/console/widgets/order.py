"""The listed rows in their order, kept sorted as rows change: a change costs a binary
search and a move in a list, never a sort of the whole list."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from talkroom.console.state import Row, SortKey


class RowOrder:
    """Rows by conversation id, and their sort keys in list order."""

    def __init__(self) -> None:
        self._keys: list[SortKey] = []  # in order; a key ends with its conversation's id
        self._rows: dict[str, Row] = {}
        self._filed: dict[str, SortKey] = {}  # the key each row is filed under

    def reset(self, rows: Iterable[Row]) -> None:
        """Hold these rows only (one sort)."""
        self._rows = {row.id: row for row in rows}
        self._filed = {conv_id: row.key for conv_id, row in self._rows.items()}
        self._keys = sorted(self._filed.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, conv_id: object) -> bool:
        return conv_id in self._rows

    def get(self, conv_id: str) -> Row | None:
        """A listed conversation's row."""
        return self._rows.get(conv_id)

    def id_at(self, index: int) -> str:
        """The conversation at this place."""
        return self._keys[index][-1]

    def ids(self) -> list[str]:
        """Every listed conversation, in order."""
        return [key[-1] for key in self._keys]

    def position(self, conv_id: str) -> int | None:
        """Where a listed conversation is."""
        key = self._filed.get(conv_id)
        return bisect_left(self._keys, key) if key is not None else None

    def file(self, row: Row) -> None:
        """Put a row (new, or changed) in its place."""
        self.drop(row.id)
        self._rows[row.id] = row
        self._filed[row.id] = row.key
        insort(self._keys, row.key)

    def replace(self, row: Row) -> None:
        """A listed row redrawn where it is (its key has not changed)."""
        if row.id in self._rows:
            self._rows[row.id] = row

    def drop(self, conv_id: str) -> bool:
        """Take a conversation out; False if it was not listed."""
        key = self._filed.pop(conv_id, None)
        if key is None:
            return False
        del self._keys[bisect_left(self._keys, key)]
        del self._rows[conv_id]
        return True
